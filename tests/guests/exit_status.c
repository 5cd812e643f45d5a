/* The exit status through isa-debug-exit: writing 0x2A stops the machine with status
   (0x2A << 1) | 1 = 85, under Vireo exactly as under QEMU. */
#include "lib/guest.h"

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  kputs("exiting with code 0x2a\n");
  guest_exit(0x2A);
}
