/* Triple fault on purpose: an empty IDT, then #UD. Delivery of #UD fails, so does the double
   fault, and the CPU shuts down. Vireo must say so, with a register dump, and exit 1. */
#include "lib/guest.h"

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  kputs("about to triple-fault\n");
  struct {
    uint16_t limit;
    uint64_t base;
  } __attribute__((packed)) empty = {0, 0};
  __asm__ volatile("lidt %0\n\tud2" ::"m"(empty));
  return 0;
}
