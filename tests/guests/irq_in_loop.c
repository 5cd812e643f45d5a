/* A timer interrupt arriving while the CPU runs a long loop that never leaves itself (under
   the jit: one translated block looping in place, which checks for an exit request only at
   its back edge): the interrupt must be taken, inside the loop, within a bounded time. */
#include "lib/guest.h"

static volatile uint32_t ticks;
static volatile uint64_t irq_rip;

static void on_tick(struct frame* f) {
  ticks++;
  irq_rip = f->rip;
  pic_eoi(0);
}

extern char loop_start[], loop_end[];

/* Registers only until the handler has run: x advances an LCG, the tick count is read from
   memory each iteration. One copy of the loop (its labels are global). */
__attribute__((noinline, noclone)) static uint64_t spin_until(uint32_t want) {
  uint64_t x = 1;
  __asm__ volatile(
      "sti\n"
      "loop_start:\n\t"
      "imul %2, %0\n\t"
      "add %3, %0\n\t"
      "cmp %1, ticks(%%rip)\n\t"
      "jb loop_start\n"
      "loop_end:\n\t"
      "cli"
      : "+r"(x) : "r"(want), "r"(6364136223846793005ull), "r"(1442695040888963407ull) : "memory", "cc");
  return x;
}

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  idt_init();
  pic_init();
  idt_set_handler(PIC_VECTOR_BASE + 0, on_tick);
  pit_start_periodic(1000);
  pic_unmask(0);
  int inside = 0;
  for (int round = 0; round < 5; round++) {
    spin_until(ticks + 1);
    inside += irq_rip >= (uint64_t)loop_start && irq_rip < (uint64_t)loop_end;
  }
  kprintf("5 interrupts taken in a tight loop, inside the loop: %d\n", inside);
  return 0;
}
