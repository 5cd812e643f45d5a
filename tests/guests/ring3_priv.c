/* Privilege in long mode: a ring-3 task executes privileged instructions and gets #GP(0) for
   each; I/O and CLI/STI follow IOPL; POPF in ring 3 cannot change IOPL, nor IF without IOPL;
   INT n to a DPL-0 gate is #GP((n << 3) | 2), to a DPL-3 gate it enters ring 0 on the TSS's
   RSP0 stack with a null SS; IST stacks are used with or without a privilege change;
   interrupt gates clear IF, trap gates do not; CR4.TSD makes RDTSC privileged. */
#include "lib/guest.h"

#define RFLAGS_IF 0x200ul
#define RFLAGS_IOPL3 0x3000ul

static struct {
  uint64_t frame, cs, ss, rsp, rflags, handler_ss;
  int count;
} seen;

static void on_gate(struct frame* f) {
  seen.frame = (uint64_t)f;
  seen.cs = f->cs;
  seen.ss = f->ss;
  seen.rsp = f->rsp;
  __asm__ volatile("pushfq\n\tpop %0" : "=r"(seen.rflags));
  __asm__ volatile("mov %%ss, %0" : "=r"(seen.handler_ss));
  seen.count++;
}

static int on_stack(uint64_t addr, uint64_t top, uint64_t size) { return addr < top && addr >= top - size; }

/* The handler's SS is printed only where the SDM defines it: null after a privilege change,
   unchanged without one and without IST. (With IST and no privilege change QEMU 7.2 loads a
   null SS too; the SDM's INT pseudocode leaves SS alone.) */
static void report_gate(const char* what, bool show_ss) {
  kprintf("%s: entered %d, from cs=%lx ss=%lx, IF in handler=%d", what, seen.count, seen.cs, seen.ss,
          (int)((seen.rflags & RFLAGS_IF) != 0));
  if (show_ss) kprintf(", handler ss=%lx", seen.handler_ss);
  kputs("\n");
  kprintf("  frame on RSP0 stack: %d, IST1: %d, IST2: %d\n", on_stack(seen.frame, tss.rsp[0], 8192),
          on_stack(seen.frame, tss.ist[0], 4096), on_stack(seen.frame, tss.ist[1], 4096));
  seen.count = 0;
}

static const char* privileged[] = {
    "cli", "sti", "hlt", "mov to cr3", "mov from cr0", "lgdt", "lidt", "ltr", "wrmsr", "rdmsr",
    "in (IOPL 0)", "out (IOPL 0)", "invlpg", "wbinvd", "clts", "mov to dr7", "swapgs", "rdpmc (CR4.PCE 0)",
    "int 0x30 (DPL 0 gate)", "int3 (DPL 0 gate)", "sgdt (not privileged)", "rdtsc (CR4.TSD 0)"};
static void user_privileged(void) {
  static uint8_t table[10];
  TRY("cli", "i"(0)); trap_save(0);
  TRY("sti", "i"(0)); trap_save(1);
  TRY("hlt", "i"(0)); trap_save(2);
  TRY("mov %0, %%cr3", "r"(0ul)); trap_save(3);
  TRY("mov %%cr0, %%rax", "i"(0)); trap_save(4);
  TRY("lgdt %0", "m"(table)); trap_save(5);
  TRY("lidt %0", "m"(table)); trap_save(6);
  TRY("ltr %w0", "r"(0x28)); trap_save(7);
  TRY("wrmsr", "i"(0)); trap_save(8);
  TRY("rdmsr", "i"(0)); trap_save(9);
  TRY("mov $0x3fd, %%dx\n\tinb %%dx, %%al", "i"(0)); trap_save(10);
  TRY("mov $0x80, %%dx\n\toutb %%al, %%dx", "i"(0)); trap_save(11);
  TRY("invlpg (%0)", "r"(0ul)); trap_save(12);
  TRY("wbinvd", "i"(0)); trap_save(13);
  TRY("clts", "i"(0)); trap_save(14);
  TRY("mov %0, %%dr7", "r"(0ul)); trap_save(15);
  TRY("swapgs", "i"(0)); trap_save(16);
  TRY("xor %%ecx, %%ecx\n\trdpmc", "i"(0)); trap_save(17);
  TRY("int $0x30", "i"(0)); trap_save(18);
  TRY("int3", "i"(0)); trap_save(19);
  TRY("sgdt %0", "m"(table)); trap_save(20);
  TRY("rdtsc", "i"(0)); trap_save(21);
}

static uint64_t pushf(void) {
  uint64_t f;
  __asm__ volatile("pushfq\n\tpop %0" : "=r"(f));
  return f;
}
static uint64_t popf_pushf(uint64_t v) {
  __asm__ volatile("push %0\n\tpopfq" ::"r"(v) : "cc");
  return pushf();
}

static uint64_t user_flags[8];
uint8_t user_lsr; /* written from asm */
static void user_iopl0_flags(void) {
  user_flags[0] = pushf();
  user_flags[1] = popf_pushf(user_flags[0] | RFLAGS_IOPL3 | RFLAGS_IF);  /* both silently ignored */
}
static void user_iopl3(void) {
  TRY("mov $0x3fd, %%dx\n\tinb %%dx, %%al\n\tmov %%al, user_lsr(%%rip)", "i"(0));
  trap_save(0);
  TRY("mov $0x80, %%dx\n\tmov $0x42, %%al\n\toutb %%al, %%dx", "i"(0));
  trap_save(1);
  user_flags[0] = pushf();
  __asm__ volatile("sti");
  user_flags[1] = pushf();
  __asm__ volatile("cli");
  user_flags[2] = pushf();
  user_flags[3] = popf_pushf(user_flags[2] & ~RFLAGS_IOPL3);  /* IOPL stays, CPL > 0 */
  user_flags[4] = popf_pushf(user_flags[2] | RFLAGS_IF);      /* IF may change: IOPL >= CPL */
  __asm__ volatile("cli");
}
static void user_int31(void) { __asm__ volatile("int $0x31" ::: "memory"); } /* DPL 3 interrupt gate */
static void user_int32(void) { __asm__ volatile("int $0x32" ::: "memory"); } /* same, on IST1 */
static void user_int34(void) { __asm__ volatile("int $0x34" ::: "memory"); } /* DPL 3 trap gate */
uint64_t user_tsc; /* written from asm */
static void user_rdtsc(void) {
  TRY("rdtsc\n\tmov %%eax, user_tsc(%%rip)", "i"(0));
  trap_save(0);
}

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  pic_init();  /* everything masked: IF may be set below without a device interrupting */
  idt_init();
  trap_catch(13);
  trap_catch(6);
  ring3_init();
  idt_set_handler(0x30, on_gate);
  idt_set_handler(0x31, on_gate);
  idt_set_gate(0x31, 3, 0, 0xE);
  idt_set_handler(0x32, on_gate);
  idt_set_gate(0x32, 3, 1, 0xE);
  idt_set_handler(0x33, on_gate);
  idt_set_gate(0x33, 0, 2, 0xE);
  idt_set_handler(0x34, on_gate);
  idt_set_gate(0x34, 3, 0, 0xF);
  idt_set_handler(3, on_gate);

  kputs("-- privileged instructions in ring 3 (IOPL 0)\n");
  ring3_call(user_privileged, 0x002);
  /* INT n through a gate whose DPL < CPL: #GP((n << 3) | 2), shown in that form for QEMU too. */
  trap_saved(18)->error = idt_error_as_sdm(trap_saved(18)->error, 0x30, false);
  trap_saved(19)->error = idt_error_as_sdm(trap_saved(19)->error, 3, false);
  for (int i = 0; i < 22; i++) trap_report_saved(i, privileged[i]);
  kprintf("int 0x30 / int3 handlers entered: %d\n", seen.count);
  seen.count = 0;

  kputs("-- flags in ring 3\n");
  ring3_call(user_iopl0_flags, 0x002);
  kprintf("IOPL 0: pushf %lx, after popf of IOPL 3 + IF: %lx\n", user_flags[0], user_flags[1]);
  ring3_call(user_iopl3, 0x002 | RFLAGS_IOPL3);
  trap_report_saved(0, "IOPL 3: in");
  kprintf("  LSR read in ring 3 has THRE: %d\n", (user_lsr & 0x20) != 0);
  trap_report_saved(1, "IOPL 3: out");
  /* (AF masked: the compiled code before these pushf leaves it undefined, e.g. by a shift,
     and engines differ there: this AMD host and Vireo set it, QEMU clears it.) */
  for (int i = 0; i < 5; i++) user_flags[i] &= ~0x10ull;
  kprintf("IOPL 3: pushf %lx, after sti %lx, after cli %lx\n", user_flags[0], user_flags[1], user_flags[2]);
  kprintf("IOPL 3: popf clearing IOPL -> %lx, popf setting IF -> %lx\n", user_flags[3], user_flags[4]);

  kputs("-- gates\n");
  ring3_call(user_int31, 0x002 | RFLAGS_IF);
  report_gate("int 0x31 from ring 3 (interrupt gate)", true);
  kprintf("  user rsp in frame is on the ring-3 stack: %d\n", seen.rsp != 0 && !on_stack(seen.rsp, tss.rsp[0], 8192));
  ring3_call(user_int32, 0x002 | RFLAGS_IF);
  report_gate("int 0x32 from ring 3 (IST1)", true);
  ring3_call(user_int34, 0x002 | RFLAGS_IF);
  report_gate("int 0x34 from ring 3 (trap gate)", true);
  __asm__ volatile("int $0x31" ::: "memory");
  report_gate("int 0x31 from ring 0 (no stack switch)", true);
  __asm__ volatile("int $0x33" ::: "memory");
  report_gate("int 0x33 from ring 0 (IST2)", false);

  kputs("-- CR4.TSD\n");
  ring3_call(user_rdtsc, 0x002);
  trap_report_saved(0, "rdtsc in ring 3, TSD=0");
  WRITE_CR(4, READ_CR(4) | 4);
  ring3_call(user_rdtsc, 0x002);
  trap_report_saved(0, "rdtsc in ring 3, TSD=1");
  WRITE_CR(4, READ_CR(4) & ~4ul);
  return 0;
}
