/* The system instructions a kernel runs on its hot paths, in the forms the system-mode jit
   translates (src/jit/frontend/system.cpp) and beside those it leaves to the interpreter:
   POPFQ setting IF with an interrupt pending (taken right after it), clearing IF (not taken),
   restoring every flag POPF may change at CPL 0; STI followed by a store (the pending
   interrupt after the store); SWAPGS twice in one block with GS-relative loads between; IRETQ
   to the same ring (RFLAGS, RSP and RIP from the frame) and to ring 3 and back; REP STOSQ and
   REP MOVSQ running into a not-present page part-way (#PF with CR2 at the page, RCX and
   RDI/RSI at the element that faulted, the elements before it done); CMPXCHG16B succeeding,
   failing (RDX:RAX loaded) and #GP on a misaligned operand.
   Then two that meet interrupts in the forms the jit runs by helpers of its own
   (src/jit/system/system_helpers.cpp): IRETQ taking a pending interrupt right after it sets
   IF, and long rep stosq instructions interrupted by timer ticks (the rest is the guest
   kernel_helpers, which is deterministic). */
#include "lib/guest.h"

#define WIN 0x40000000ull /* two 4 KiB pages: WIN mapped, WIN + 0x1000 not present */
#define MSR_GS_BASE 0xC0000101u
#define MSR_KERNEL_GS_BASE 0xC0000102u

static uint8_t page_a[4096] __attribute__((aligned(4096)));
static volatile uint64_t irq_rip;
static volatile int irqs;

static void on_timer(struct frame* f) {
  irqs++;
  irq_rip = f->rip;
  pic_eoi(0);
}

/* One IRQ0 edge, left pending in the PIC's IRR with interrupts off. The quiesce arms a 55 ms
   one-shot of its own; a host that stalls the guest that long between it and our one-shot
   gives a second edge. Waiting for our one-shot's OUT to go high (read-back status, bit 7)
   before looking at IRR puts every edge before the poll, where IRR's one bit merges them into
   one request: exactly one interrupt, however the host schedules us. */
static void irq_pending(void) {
  irqs = 0;
  irq_rip = 0;
  pit_pic_quiesce();
  pic_unmask(0);
  pit_one_shot(100);
  for (;;) {
    outb(0x43, 0xE2); /* read-back: status of channel 0 */
    if (inb(0x40) & 0x80) break;
  }
  for (;;) {
    outb(0x20, 0x0A);
    if (inb(0x20) & 1) break;
  }
}

static void popf_and_sti(void) {
  uint64_t after;
  irq_pending();
  __asm__ volatile("lea 1f(%%rip), %0\n\t"
                   "pushfq\n\torq $0x200, (%%rsp)\n\tpopfq\n1:\tnop\n\tnop\n\tcli"
                   : "=&r"(after)::"memory");
  kprintf("popfq setting IF, IRQ0 pending: taken %d, right after popfq: %d\n", irqs, irq_rip == after);
  irq_pending();
  __asm__ volatile("pushfq\n\tandq $~0x200, (%%rsp)\n\tpopfq\n\tnop\n\tnop" ::: "memory");
  kprintf("popfq leaving IF clear, IRQ0 pending: taken %d\n", irqs);
  __asm__ volatile("lea 1f(%%rip), %0\n\tsti\n\tmovq $7, page_a(%%rip)\n1:\tnop\n\tcli" : "=&r"(after)::"memory");
  kprintf("then sti and a store: taken %d, after the store: %d\n", irqs, irq_rip == after);

  /* Every flag POPF may change at CPL 0 but IF and TF (CF PF AF ZF SF DF OF IOPL=3 NT AC ID;
     VM and RF are never set by POPF),
     read back by PUSHFQ in the same block, then the old flags restored. */
  uint64_t saved, got;
  __asm__ volatile("pushfq\n\tpop %0\n\t"
                   "pushq $0x277cd5\n\tpopfq\n\tpushfq\n\tpop %1\n\t"
                   "push %0\n\tpopfq"
                   : "=&r"(saved), "=&r"(got)::"cc", "memory");
  kprintf("popfq 0x277cd5 -> pushfq %lx\n", got);
}

static void swapgs_twice(void) {
  static uint64_t a = 0xaaaa0001, b = 0xbbbb0002;
  wrmsr(MSR_GS_BASE, (uint64_t)&a);
  wrmsr(MSR_KERNEL_GS_BASE, (uint64_t)&b);
  uint64_t r1, r2, r3;
  __asm__ volatile("mov %%gs:0, %0\n\tswapgs\n\tmov %%gs:0, %1\n\tswapgs\n\tmov %%gs:0, %2"
                   : "=&r"(r1), "=&r"(r2), "=&r"(r3)::"memory");
  kprintf("gs:0 before, between and after two swapgs: %lx %lx %lx\n", r1, r2, r3);
  __asm__ volatile("swapgs" ::: "memory");
  kprintf("after a third: GS_BASE is b %d, KERNEL_GS_BASE is a %d\n", rdmsr(MSR_GS_BASE) == (uint64_t)&b,
          rdmsr(MSR_KERNEL_GS_BASE) == (uint64_t)&a);
  __asm__ volatile("swapgs" ::: "memory");
}

static volatile uint64_t ring3_seen;
static void user_fn(void) { ring3_seen = 0x33; }

static void iret_paths(void) {
  uint64_t rsp_before, rsp_after, flags, cs, landed;
  /* A frame for the same ring: SS, RSP, RFLAGS (CF and DF set), CS, RIP. */
  __asm__ volatile("mov %%rsp, %0\n\t"
                   "mov %%ss, %%eax\n\tpush %%rax\n\t"
                   "push %0\n\t"
                   "pushq $0x403\n\t"
                   "mov %%cs, %%eax\n\tpush %%rax\n\t"
                   "lea 1f(%%rip), %%rax\n\tpush %%rax\n\t"
                   "iretq\n\t"
                   "ud2\n"
                   "1:\tmov %%rsp, %1\n\t"
                   "pushfq\n\tpop %2\n\t"
                   "cld\n\t"
                   "lea 1b(%%rip), %3\n\t"
                   "mov %%cs, %4"
                   : "=&r"(rsp_before), "=&r"(rsp_after), "=&r"(flags), "=&r"(landed), "=&r"(cs)::"rax", "cc", "memory");
  kprintf("iretq to ring 0: rsp restored %d, rflags %lx, cs %lx\n", rsp_before == rsp_after, flags, cs);
  ring3_seen = 0;
  ring3_call(user_fn, 0x002);
  kprintf("iretq to ring 3 and back: ran %lx\n", ring3_seen);
}

static void strings(void) {
  *paging_entry(WIN, 1) = (uint64_t)page_a | PTE_P | PTE_W;
  invlpg(WIN);
  *paging_entry(WIN + 0x1000, 1) = 0;
  invlpg(WIN + 0x1000);
  for (int i = 0; i < 4096; i++) page_a[i] = 0;

  uint64_t rcx, rdi, rsi;
  trap.count = 0;
  trap.vector = ~0ull;
  __asm__ volatile(TRY_SET_POINTS
                   "mov %3, %%rdi\n\tmov $5, %%ecx\n\tmov $0x5151515151515151, %%rax\n\t"
                   "2:\trep stosq\n1:\tmov %%rcx, %0\n\tmov %%rdi, %1"
                   : "=&r"(rcx), "=&r"(rdi), "=&r"(rsi)
                   : "r"(WIN + 0x1000 - 16)
                   : "rax", "rcx", "rdx", "rdi", "memory");
  trap_report("rep stosq (5 qwords) into a not-present page after 2");
  kprintf("  rcx %lx, rdi at the page: %d, the 2 before it written: %d %d, the one before them not: %d\n", rcx,
          rdi == WIN + 0x1000, *(uint64_t*)&page_a[4080] == 0x5151515151515151ull,
          *(uint64_t*)&page_a[4088] == 0x5151515151515151ull, *(uint64_t*)&page_a[4072] == 0);

  static uint64_t dst[8];
  trap.count = 0;
  trap.vector = ~0ull;
  __asm__ volatile(TRY_SET_POINTS
                   "mov %3, %%rsi\n\tlea %4, %%rdi\n\tmov $4, %%ecx\n\t"
                   "2:\trep movsq\n1:\tmov %%rcx, %0\n\tmov %%rsi, %1\n\tmov %%rdi, %2"
                   : "=&r"(rcx), "=&r"(rsi), "=&r"(rdi)
                   : "r"(WIN + 0x1000 - 8), "m"(dst)
                   : "rax", "rcx", "rdx", "rsi", "rdi", "memory");
  trap_report("rep movsq (4 qwords) from a not-present page after 1");
  kprintf("  rcx %lx, rsi at the page: %d, rdi one qword on: %d, the qword copied: %d\n", rcx, rsi == WIN + 0x1000,
          rdi == (uint64_t)&dst[1], dst[0] == 0x5151515151515151ull);
}

static void iret_setting_if(void) {
  uint64_t after;
  /* IF set by IRETQ with IRQ0 pending: taken right after it, at the label it returned to. */
  irq_pending();
  __asm__ volatile("mov %%rsp, %%rbx\n\t"
                   "mov %%ss, %%eax\n\tpush %%rax\n\tpush %%rbx\n\tpushq $0x202\n\t"
                   "mov %%cs, %%eax\n\tpush %%rax\n\t"
                   "lea 1f(%%rip), %0\n\tpush %0\n\t"
                   "iretq\n"
                   "1:\tnop\n\tnop\n\tcli"
                   : "=&r"(after)::"rax", "rbx", "memory");
  kprintf("iretq setting IF, IRQ0 pending: taken %d, right after iretq: %d\n", irqs, irq_rip == after);
}

static volatile uint32_t ticks;
static void on_tick(struct frame* f) {
  (void)f;
  ticks++;
  pic_eoi(0);
}

/* rep stosq of 64 KiB again and again until 3 timer ticks (1 kHz) have been taken: the
   interrupts come between and inside the instructions, which go on where they stopped. */
static void rep_with_ticks(void) {
  static uint64_t area[8192];
  pit_pic_quiesce();
  idt_set_handler(PIC_VECTOR_BASE, on_tick);
  ticks = 0;
  pit_start_periodic(1000);
  pic_unmask(0);
  uint64_t rounds = 0;
  __asm__ volatile("sti" ::: "memory");
  while (ticks < 3) {
    uint64_t d = (uint64_t)area, n = 8192;
    __asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(rounds + 1) : "memory");
    rounds++;
  }
  __asm__ volatile("cli" ::: "memory");
  pit_pic_quiesce();
  idt_set_handler(PIC_VECTOR_BASE, on_timer);
  int filled = 1;
  for (int i = 0; i < 8192; i++) filled &= area[i] == rounds;
  kprintf("rep stosq of 64 KiB until 3 timer ticks: every qword of the last round %d\n", filled);
}

static void cmpxchg16b(void) {
  static volatile uint64_t cell[4] __attribute__((aligned(16))) = {1, 2, 0, 0};
  uint64_t rax = 1, rdx = 2;
  uint8_t zf;
  __asm__ volatile("lock cmpxchg16b %0\n\tsetz %1"
                   : "+m"(cell[0]), "=q"(zf), "+a"(rax), "+d"(rdx)
                   : "b"(0x11ul), "c"(0x22ul)
                   : "memory", "cc");
  kprintf("cmpxchg16b equal: zf %d, memory %lx %lx\n", zf, cell[0], cell[1]);
  rax = 5, rdx = 6;
  __asm__ volatile("cmpxchg16b %0\n\tsetz %1"
                   : "+m"(cell[0]), "=q"(zf), "+a"(rax), "+d"(rdx)
                   : "b"(0x77ul), "c"(0x88ul)
                   : "memory", "cc");
  kprintf("cmpxchg16b different: zf %d, rdx:rax %lx:%lx, memory %lx %lx\n", zf, rdx, rax, cell[0], cell[1]);
  TRY("cmpxchg16b (%0)", "r"((uint64_t)&cell[1]));
  trap_report("cmpxchg16b misaligned");
}

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  pic_init();
  idt_init();
  trap_catch(14);
  trap_catch(13);
  trap_catch(6);
  ring3_init();
  idt_set_handler(PIC_VECTOR_BASE, on_timer);
  kputs("-- popfq and sti\n");
  popf_and_sti();
  kputs("-- swapgs\n");
  swapgs_twice();
  kputs("-- iretq\n");
  iret_paths();
  kputs("-- rep string instructions meeting #PF\n");
  strings();
  kputs("-- cmpxchg16b\n");
  cmpxchg16b();
  kputs("-- iretq and rep stosq with interrupts (the jit's helpers)\n");
  iret_setting_if();
  rep_with_ticks();
  return 0;
}
