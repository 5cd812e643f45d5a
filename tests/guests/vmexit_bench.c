/* The vmexit micro-benchmark: N port writes to the POST port 0x80, each a full exit to the
   monitor under kvm. N comes from the command line ("count=N", default 100000). */
#include "lib/guest.h"

static uint64_t parse_count(const char* s) {
  for (; *s; s++) {
    if (s[0] == 'c' && s[1] == 'o' && s[2] == 'u' && s[3] == 'n' && s[4] == 't' && s[5] == '=') {
      uint64_t n = 0;
      for (s += 6; *s >= '0' && *s <= '9'; s++) n = n * 10 + (uint64_t)(*s - '0');
      return n;
    }
  }
  return 100000;
}

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  uint64_t n = parse_count(multiboot_args(mbi));
  for (uint64_t i = 0; i < n; i++) outb(0x80, (uint8_t)i);
  kprintf("port writes done: %lu\n", n);
  return 0;
}
