/* An IDT whose handlers report #DE, #UD, #PF (with CR2 and the error code) and #GP over
   serial. Each fault is provoked on purpose; the handler reports it and resumes the guest at
   a recovery point, so one run checks all four. (Under the jit the #GPs of a non-canonical
   address and a misaligned SSE operand leave a translated block part-way: guest.jit.same_count
   checks that the retired-instruction count stays the interpreter's.) */
#include "lib/guest.h"

static volatile uint64_t resume_rip;
static volatile int faults_seen;

static void report(struct frame* f) {
  static const char* names[32] = {[0] = "#DE", [6] = "#UD", [13] = "#GP", [14] = "#PF"};
  uint64_t cr2;
  __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
  kprintf("%s (vector %d)", names[f->vector], (int)f->vector);
  if (f->vector == 14) kprintf(" cr2=%lx error=%lx", cr2, f->error_code);
  if (f->vector == 13) kprintf(" error=%lx", f->error_code);
  kprintf(" from cpl %d\n", (int)(f->cs & 3));
  faults_seen++;
  f->rip = resume_rip;
}

/* Runs `insn` with the recovery point right after it. */
#define PROVOKE(insn, ...)                                                   \
  __asm__ volatile("lea 1f(%%rip), %%rax\n\tmov %%rax, %0\n\t" insn "\n1:" \
                   : "=m"(resume_rip) : __VA_ARGS__ : "rax", "rcx", "rdx", "memory")

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  idt_init();
  idt_set_handler(0, report);
  idt_set_handler(6, report);
  idt_set_handler(13, report);
  idt_set_handler(14, report);

  PROVOKE("xor %%ecx, %%ecx\n\txor %%edx, %%edx\n\tmov $1, %%eax\n\tdiv %%ecx", "i"(0));
  PROVOKE("ud2", "i"(0));
  /* The boot page tables map only the first 1 GiB: 0x40000000 is not present. */
  PROVOKE("mov (%1), %%rcx", "r"(0x40000123ull));
  PROVOKE("movb $1, (%1)", "r"(0x40000ff0ull));
  /* A non-canonical address. */
  PROVOKE("mov (%1), %%rcx", "r"(0x8000000000000000ull));
  /* Loading a data segment with a selector beyond the GDT: #GP with that selector. */
  PROVOKE("mov $0x70, %%ecx\n\tmov %%ecx, %%ds", "i"(0));
  __asm__ volatile("mov $0x10, %%ecx\n\tmov %%ecx, %%ds" ::: "rcx");
  /* A misaligned MOVAPS operand: #GP(0) (SDM Vol. 2, MOVAPS), once SSE is on (CR4.OSFXSR). */
  uint64_t cr4;
  __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
  __asm__ volatile("mov %0, %%cr4" ::"r"(cr4 | (1u << 9)));
  PROVOKE("movaps (%1), %%xmm0", "r"(0x100008ull));
  kprintf("faults handled: %d\n", faults_seen);
  CHECK(faults_seen == 7);
  return 0;
}
