/* Faults while delivering a fault (SDM Vol. 3A 6.15, Table 6-5): a benign exception whose
   gate is missing is followed by #NP alone; a contributory exception or #PF followed by a
   contributory one, or #PF during #PF delivery (a kernel stack overflow), becomes #DF,
   delivered on an IST stack with error code 0. A #PF during delivery of a benign exception
   is handled serially, here on its own IST stack. */
#include "lib/guest.h"

#define UNMAPPED 0x40000000ull  /* the boot tables map only the first 1 GiB */

static struct {
  uint64_t vector, error, cr2, frame;
  int count;
} seen[2];
static int nseen;
static volatile uint64_t saved_rsp;

/* Records the event and resumes at the TRY point with the stack saved before it. */
static void on_fault(struct frame* f) {
  if (nseen < 2) {
    seen[nseen].vector = f->vector;
    /* The only #NP here comes from the missing gate 6, during delivery of #UD (EXT = 1). */
    seen[nseen].error = f->vector == 11 ? idt_error_as_sdm(f->error_code, 6, true) : f->error_code;
    seen[nseen].cr2 = READ_CR(2);
    seen[nseen].frame = (uint64_t)f;
    nseen++;
  }
  f->rip = trap_resume;
  f->rsp = saved_rsp;
}

static const char* stack_of(uint64_t frame) {
  if (frame < tss.ist[0] && frame >= tss.ist[0] - 4096) return "IST1";
  if (frame < tss.ist[1] && frame >= tss.ist[1] - 4096) return "IST2";
  return "current stack";
}

static void report(const char* what) {
  static const char* names[32] = {[0] = "#DE", [6] = "#UD", [8] = "#DF", [11] = "#NP", [13] = "#GP", [14] = "#PF"};
  kprintf("%s:", what);
  if (!nseen) kputs(" nothing delivered");
  for (int i = 0; i < nseen; i++) {
    kprintf(" %s err=%lx", names[seen[i].vector], seen[i].error);
    if (seen[i].vector == 14 || seen[i].vector == 8) kprintf(" cr2=%lx", seen[i].cr2);
    kprintf(" on %s;", stack_of(seen[i].frame));
  }
  kputs("\n");
  nseen = 0;
  WRITE_CR(2, 0);
}

#define PROVOKE(insn, ...)                                                    \
  do {                                                                        \
    __asm__ volatile("mov %%rsp, saved_rsp(%%rip)" ::: "memory");              \
    TRY(insn, __VA_ARGS__);                                                   \
  } while (0)

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  idt_init();
  ring3_init();  /* the TSS with its IST stacks */
  int vectors[] = {0, 6, 8, 11, 13, 14};
  for (unsigned i = 0; i < sizeof vectors / sizeof vectors[0]; i++) idt_set_handler(vectors[i], on_fault);
  idt_set_gate(8, 0, 1, 0xE);  /* #DF on IST1 */

  idt_set_present(6, false);
  PROVOKE("ud2", "i"(0));
  report("#UD, gate 6 not present");
  idt_set_present(6, true);

  idt_set_present(13, false);
  PROVOKE("mov $0x3f8, %%eax\n\tmov %%eax, %%ds", "i"(0));
  report("#GP, gate 13 not present");
  idt_set_present(13, true);

  idt_set_present(0, false);
  PROVOKE("xor %%ecx, %%ecx\n\tdiv %%ecx", "i"(0));
  report("#DE, gate 0 not present");
  idt_set_present(0, true);

  idt_set_present(14, false);
  PROVOKE("mov (%0), %%rax", "r"(UNMAPPED + 0x123));
  report("#PF, gate 14 not present");
  idt_set_present(14, true);

  PROVOKE("mov (%0), %%rax", "r"(UNMAPPED + 0x456));
  report("#PF, gate present");

  /* Kernel stack overflow: RSP points into unmapped memory, so pushing the frame faults. */
  PROVOKE("mov %0, %%rsp\n\tmov (%1), %%rax", "r"(UNMAPPED + 0x2000), "r"(UNMAPPED + 0x789));
  report("#PF with RSP unmapped");
  PROVOKE("mov %0, %%rsp\n\tud2", "r"(UNMAPPED + 0x3000));
  report("#UD with RSP unmapped");
  idt_set_gate(14, 0, 2, 0xE);  /* #PF on IST2: the overflow becomes an ordinary #PF */
  PROVOKE("mov %0, %%rsp\n\tud2", "r"(UNMAPPED + 0x4000));
  report("#UD with RSP unmapped, #PF on IST2");
  PROVOKE("mov %0, %%rsp\n\tmov (%1), %%rax", "r"(UNMAPPED + 0x5000), "r"(UNMAPPED + 0xabc));
  report("#PF with RSP unmapped, #PF on IST2");
  return 0;
}
