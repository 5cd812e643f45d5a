/* HLT until an interrupt: a one-shot PIT count (mode 0) fires IRQ0 about 10 ms later; the CPU
   sleeps in HLT and only the interrupt wakes it. Done three times. */
#include "lib/guest.h"

static volatile int woken;

static void on_irq0(struct frame* f) {
  woken++;
  pic_eoi(0);
}

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  idt_init();
  pic_init();
  idt_set_handler(PIC_VECTOR_BASE + 0, on_irq0);
  pic_unmask(0);
  for (int round = 1; round <= 3; round++) {
    int before = woken;
    pit_one_shot(11932);  /* 10 ms */
    sti_hlt();            /* returns only after the handler ran */
    cli();
    kprintf("round %d: woken by irq0: %s\n", round, woken == before + 1 ? "yes" : "no");
  }
  return 0;
}
