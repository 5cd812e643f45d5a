/* A kernel whose image (4 MiB of bss) does not fit in a 2 MiB machine: the loader must
   refuse it with a clear message rather than write past guest RAM. */
#include "lib/guest.h"

static uint8_t big[4 << 20];

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  big[magic & 0xFFFF] = 1;
  return big[0];
}
