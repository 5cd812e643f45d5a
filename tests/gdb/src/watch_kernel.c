/* The bare-metal guest of the system-mode jit watchpoint test (built with -g): three long
   loops that must run translated, and two globals, each alone on its page, that gdb watches
   (watch, rwatch, awatch). Under the jit only the accesses to those pages are interpreted. */
#include "lib/guest.h"

struct page {
  volatile uint64_t v;
  char pad[4096 - sizeof(uint64_t)];
} __attribute__((aligned(4096)));

struct page written = {0};    /* watch / awatch */
struct page read_once = {7};  /* rwatch */

__attribute__((noinline)) uint64_t work(uint64_t n) {
  uint64_t s = 0;
  for (uint64_t i = 0; i < n; i++) s = s * 31 + (i ^ (s >> 7));
  return s;
}

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  (void)magic;
  (void)mbi;
  serial_init();
  uint64_t s = work(3000000);
  written.v = 1;
  s += work(3000000);
  uint64_t r = read_once.v;
  s += work(3000000) + r;
  written.v = 2;
  kprintf("s=%d written=%d r=%d\n", (int)(s & 0xFFFF), (int)written.v, (int)r);
  return 0;
}
