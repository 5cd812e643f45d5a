/* Timer interrupts from the 8254 PIT through the 8259A PIC: channel 0 at 1000 Hz on IRQ0,
   counted by the handler until 100 ticks; the main loop sleeps in HLT between ticks. */
#include "lib/guest.h"

static volatile uint32_t ticks;

static void on_tick(struct frame* f) {
  ticks++;
  pic_eoi(0);
}

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  idt_init();
  pic_init();
  idt_set_handler(PIC_VECTOR_BASE + 0, on_tick);
  pit_start_periodic(1000);
  pic_unmask(0);
  kputs("waiting for 100 timer ticks\n");
  while (ticks < 100) sti_hlt();
  cli();
  kprintf("counted %u ticks\n", ticks >= 100 ? 100 : ticks);
  /* The PIT's counter runs down between two latched reads. */
  outb(0x43, 0x00);
  uint16_t c1 = inb(0x40) | (inb(0x40) << 8);
  for (volatile int i = 0; i < 100000; i++) {
  }
  outb(0x43, 0x00);
  uint16_t c2 = inb(0x40) | (inb(0x40) << 8);
  kprintf("counter moving: %s\n", c1 != c2 ? "yes" : "no");
  return 0;
}
