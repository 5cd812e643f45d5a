/* The bare-metal guest of the gdb reset test (built with -g): it counts its power cycles in
   CMOS NVRAM (which a reset keeps) and resets the machine once (port 0xCF9). gdb stays
   connected across the reset, and its breakpoint stops the second power cycle too. */
#include "lib/guest.h"

volatile uint64_t cycle;

static uint8_t cmos_read(uint8_t index) {
  outb(0x70, index);
  return inb(0x71);
}

static void cmos_write(uint8_t index, uint8_t v) {
  outb(0x70, index);
  outb(0x71, v);
}

__attribute__((noinline)) void power_cycle(int n) { cycle = (uint64_t)n; }

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  (void)magic;
  (void)mbi;
  serial_init();
  int n = cmos_read(0x40) + 1;  /* (NVRAM: 0x38 and up) */
  cmos_write(0x40, (uint8_t)n);
  power_cycle(n);
  kprintf("power cycle %d\n", n);
  if (n == 1) {
    outb(0xCF9, 0x06); /* RST_CPU | SYS_RST */
    for (;;) hlt();
  }
  return 0;
}
