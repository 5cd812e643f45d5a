/* System instructions and CPU state that no other guest covers: CPUID's system feature bits,
   RDTSC monotonic, RDTSCP where CPUID has it, CR8 (TPR) read-back, CR0/CR4/EFER values, MSR
   read-back (SYSCALL MSRs, PAT), CLFLUSH/WBINVD/MOV DR as no-ops, INTO invalid in 64-bit
   mode, and the one-instruction shadows of STI (interrupts) and MOV SS (single-step traps). */
#include "lib/guest.h"

static volatile uint64_t irq_rip, db_rip;
static volatile int irqs, dbs;

static void on_timer(struct frame* f) {
  irqs++;
  irq_rip = f->rip;
  pic_eoi(0);
}
static void on_debug(struct frame* f) {
  dbs++;
  db_rip = f->rip;
  f->rflags &= ~0x100ull;  /* TF off: one trap is enough */
}

static uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

static void show_bits(const char* what, uint32_t reg, const char* const names[32]) {
  kprintf("%s:", what);
  for (int i = 0; i < 32; i++)
    if (names[i] && (reg >> i & 1)) kprintf(" %s", names[i]);
  kputs("\n");
}

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  pic_init();
  idt_init();
  trap_catch(13);
  trap_catch(6);

  kputs("-- cpuid\n");
  uint32_t r[4];
  cpuid(0, 0, r);
  kprintf("max basic leaf >= 1: %d\n", r[0] >= 1);
  cpuid(0x80000000, 0, r);
  kprintf("max extended leaf >= 0x80000001: %d\n", r[0] >= 0x80000001);
  /* The system features the guests rely on (SDM Vol. 2A, CPUID, Tables 3-11 and 3-20). */
  static const char* const edx1[32] = {[0] = "fpu", [3] = "pse", [4] = "tsc", [5] = "msr", [6] = "pae", [8] = "cx8",
                                       [11] = "sep", [13] = "pge", [15] = "cmov", [19] = "clflush",
                                       [24] = "fxsr", [25] = "sse", [26] = "sse2"};
  static const char* const edx81[32] = {[11] = "syscall", [20] = "nx", [29] = "lm"};
  cpuid(1, 0, r);
  show_bits("leaf 1 edx", r[3], edx1);
  cpuid(0x80000001, 0, r);
  show_bits("leaf 0x80000001 edx", r[3], edx81);
  bool has_rdtscp = r[3] >> 27 & 1;

  kputs("-- time stamp counter\n");
  uint64_t t1 = rdtsc(), t2 = rdtsc(), t3 = rdtsc();
  kprintf("rdtsc increases: %d\n", t1 < t2 && t2 < t3);
  if (has_rdtscp) {
    wrmsr(0xC0000103, 0x1234);  /* IA32_TSC_AUX */
    uint32_t lo, hi, aux;
    __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
    CHECK(aux == 0x1234 && (((uint64_t)hi << 32) | lo) > t3);
  } else {
    TRY("rdtscp", "i"(0));
    CHECK(trap.count == 1 && trap.vector == 6);
  }
  kputs("rdtscp: works (TSC_AUX in ecx) or is #UD, as CPUID says\n");

  kputs("-- control registers\n");
  kprintf("cr0=%lx cr4=%lx efer=%lx\n", READ_CR(0), READ_CR(4), rdmsr(EFER_MSR));
  for (uint64_t v = 0; v < 16; v += 5) {
    WRITE_CR(8, v);
    kprintf("cr8 <- %lx: reads %lx\n", v, READ_CR(8));
  }
  WRITE_CR(8, 0);
  /* Not tested, because QEMU 7.2 accepts what the SDM makes #GP(0): reserved bits in CR8, CR4
     and CR0, clearing CR4.PAE in long mode, CR0.PG without PE, RDMSR of an MSR that does not
     exist. */

  kputs("-- MSRs\n");
  kprintf("PAT at reset: %lx\n", rdmsr(0x277));
  wrmsr(0x277, 0x0007010600070106ull);
  kprintf("PAT after write: %lx\n", rdmsr(0x277));
  wrmsr(0xC0000081, 0x0023001000080000ull);
  wrmsr(0xC0000082, 0xffffffff81000000ull);
  wrmsr(0xC0000083, 0xffffffff81001000ull);
  wrmsr(0xC0000084, 0x47700);
  kprintf("STAR %lx LSTAR %lx CSTAR %lx SFMASK %lx\n", rdmsr(0xC0000081), rdmsr(0xC0000082), rdmsr(0xC0000083),
          rdmsr(0xC0000084));

  kputs("-- no-ops\n");
  static volatile uint64_t cell = 0x1122334455667788ull;
  __asm__ volatile("clflush (%0)\n\twbinvd" ::"r"(&cell) : "memory");
  kprintf("memory after clflush and wbinvd: %lx\n", cell);
  TRY("mov %0, %%dr7", "r"(0x400ul));
  trap_report("mov dr7 <- 0x400 (no breakpoints)");

  TRY(".byte 0xce", "i"(0));
  trap_report("into in 64-bit mode (invalid)");

  kputs("-- shadows\n");
  idt_set_handler(PIC_VECTOR_BASE, on_timer);
  idt_set_handler(1, on_debug);
  pit_pic_quiesce();
  pic_unmask(0);
  pit_one_shot(100);  /* exactly one IRQ0 edge */
  for (;;) {  /* wait, interrupts off, until IRQ0 is pending in the PIC's IRR */
    outb(0x20, 0x0A);
    if (inb(0x20) & 1) break;
  }
  uint64_t after_sti, after_next;
  __asm__ volatile("lea 1f(%%rip), %0\n\tlea 2f(%%rip), %1\n\t"
                   "sti\n1:\tnop\n2:\tnop\n\tcli"
                   : "=&r"(after_sti), "=&r"(after_next)::"memory");
  kprintf("pending IRQ after sti: taken %d, after the instruction following sti: %d\n", irqs,
          irq_rip == after_next && irq_rip != after_sti);
  uint64_t after_first, after_second;
  __asm__ volatile("lea 1f(%%rip), %0\n\tlea 2f(%%rip), %1\n\t"
                   "pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\tnop\n1:\tnop\n2:\tnop"
                   : "=&r"(after_first), "=&r"(after_second)::"memory");
  kprintf("TF: #DB %d, after the first instruction: %d\n", dbs, db_rip == after_first);
  dbs = 0;
  __asm__ volatile("lea 1f(%%rip), %0\n\tlea 2f(%%rip), %1\n\tmov %%ss, %%eax\n\t"
                   "pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\tmov %%eax, %%ss\n1:\tnop\n2:\tnop"
                   : "=&r"(after_first), "=&r"(after_second)::"rax", "memory");
  kprintf("TF then mov ss: #DB %d, after the instruction following mov ss: %d\n", dbs,
          db_rip == after_second);
  return 0;
}
