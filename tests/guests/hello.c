/* Serial output: the smallest honest PC guest. Polls the UART's line status and writes. */
#include "lib/guest.h"

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  kputs("Hello from a bare-metal guest!\n");
  return 0;
}
