/* The CMOS real-time clock: waits out an update cycle, reads the date in the format status
   register B selects, and checks it is a plausible present-day date (the host's UTC time). */
#include "lib/guest.h"

static uint8_t cmos(uint8_t reg) {
  outb(0x70, reg);
  return inb(0x71);
}

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  while (cmos(0x0A) & 0x80) {
  }
  uint8_t b = cmos(0x0B);
  int bcd = !(b & 0x04);
  uint8_t raw[3] = {cmos(0x07), cmos(0x08), cmos(0x09)};
  int valid_bcd = 1;
  int v[3];
  for (int i = 0; i < 3; i++) {
    if (bcd) {
      if ((raw[i] & 0x0F) > 9 || (raw[i] >> 4) > 9) valid_bcd = 0;
      v[i] = (raw[i] >> 4) * 10 + (raw[i] & 0x0F);
    } else {
      v[i] = raw[i];
    }
  }
  kprintf("status B: 24-hour %d, bcd %d\n", (b >> 1) & 1, bcd);
  kprintf("digits valid: %s\n", valid_bcd ? "yes" : "no");
  kprintf("date plausible: %s\n", v[0] >= 1 && v[0] <= 31 && v[1] >= 1 && v[1] <= 12 && v[2] >= 24 ? "yes" : "no");
  uint8_t s1 = cmos(0x00);
  kprintf("seconds in range: %s\n", (s1 >> 4) <= 5 && (s1 & 0x0F) <= 9 ? "yes" : "no");
  kprintf("status D valid RAM: %d\n", cmos(0x0D) >> 7);
  return 0;
}
