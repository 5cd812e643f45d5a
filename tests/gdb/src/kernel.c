/* The bare-metal guest the system-mode gdb test debugs (built with -g): a C function called
   in a loop that bumps a global, and a software interrupt whose handler returns by iretq. */
#include "lib/guest.h"

volatile uint64_t ticks;
static volatile int swi_count;

static void on_swi(struct frame* f) {
  (void)f;
  swi_count++;
}

__attribute__((noinline)) void bump(int by) { ticks += (uint64_t)by; }

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  (void)magic;
  (void)mbi;
  serial_init();
  idt_init();
  idt_set_handler(0x80, on_swi);
  for (int i = 0; i < 3; i++) {
    bump(i + 1);
    __asm__ volatile("int $0x80" ::: "memory");
  }
  kprintf("ticks=%d swi=%d\n", (int)ticks, swi_count);
  return 0;
}
