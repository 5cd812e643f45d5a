#include "guest.h"

void pic_init(void) {
  outb(0x20, 0x11);  /* ICW1: edge, cascade, ICW4 follows */
  outb(0xA0, 0x11);
  outb(0x21, PIC_VECTOR_BASE);      /* ICW2: vector bases */
  outb(0xA1, PIC_VECTOR_BASE + 8);
  outb(0x21, 0x04);  /* ICW3: slave on IRQ2 */
  outb(0xA1, 0x02);
  outb(0x21, 0x01);  /* ICW4: 8086 mode, normal EOI */
  outb(0xA1, 0x01);
  outb(0x21, 0xFF);  /* mask everything */
  outb(0xA1, 0xFF);
}

void pic_unmask(int irq) {
  if (irq >= 8) {
    outb(0xA1, inb(0xA1) & (uint8_t)~(1u << (irq - 8)));
    irq = 2;
  }
  outb(0x21, inb(0x21) & (uint8_t)~(1u << irq));
}

void pic_eoi(int irq) {
  if (irq >= 8) outb(0xA0, 0x20);
  outb(0x20, 0x20);
}

void pit_start_periodic(uint32_t hz) {
  uint32_t divisor = 1193182 / hz;
  outb(0x43, 0x34);  /* channel 0, lobyte/hibyte, mode 2 */
  outb(0x40, (uint8_t)divisor);
  outb(0x40, (uint8_t)(divisor >> 8));
}

void pit_one_shot(uint16_t count) {
  outb(0x43, 0x30);  /* channel 0, lobyte/hibyte, mode 0 */
  outb(0x40, (uint8_t)count);
  outb(0x40, (uint8_t)(count >> 8));
}

void pit_pic_quiesce(void) {
  pit_one_shot(0xFFFF);
  pic_init();
}
