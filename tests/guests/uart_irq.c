/* Interrupt-driven UART receive: the 16550's received-data interrupt (IER bit 0) on IRQ4
   wakes the CPU from HLT; the handler drains the receiver. Echoes each input line in upper
   case until a line "quit". */
#include "lib/guest.h"

#define COM1 0x3F8
static volatile char buf[256];
static volatile uint32_t head, tail;
static volatile int irqs;

static void on_com1(struct frame* f) {
  irqs++;
  while (inb(COM1 + 5) & 0x01) buf[head++ % sizeof buf] = (char)inb(COM1);
  (void)inb(COM1 + 2);  /* IIR */
  pic_eoi(4);
}

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  idt_init();
  pic_init();
  idt_set_handler(PIC_VECTOR_BASE + 4, on_com1);
  outb(COM1 + 1, 0x01);  /* received-data interrupt */
  pic_unmask(4);
  kputs("type lines; 'quit' ends\n");
  char line[64];
  int len = 0, lines = 0;
  for (;;) {
    cli();
    if (tail == head) {
      sti_hlt();
      continue;
    }
    char c = buf[tail++ % sizeof buf];
    sti();
    if (c == '\r') continue;
    if (c != '\n') {
      if (len < (int)sizeof line - 1) line[len++] = c;
      continue;
    }
    line[len] = 0;
    len = 0;
    if (!kstrcmp(line, "quit")) break;
    for (char* p = line; *p; p++)
      if (*p >= 'a' && *p <= 'z') *p -= 32;
    kprintf("> %s\n", line);
    lines++;
  }
  kprintf("%d lines, received by interrupt: %s\n", lines, irqs > 0 ? "yes" : "no");
  return 0;
}
