/* Real mode as far as a kernel needs it to reach protected mode: leave 32-bit protected mode
   through a 16-bit code segment, clear CR0.PE, run 16-bit real-mode code (segment bases are
   selector << 4, near call/ret on SS:SP, 32-bit operands with a prefix, 16-bit addressing,
   REP MOVSB), then LGDT, set CR0.PE and far-jump back into 32-bit code. */
#include "lib/guest.h"

extern void realmode_roundtrip(void);

/* A 16-bit descriptor: base, 64 KiB limit, byte granularity, D = 0. */
static uint64_t descriptor16(uint32_t base, uint8_t access) {
  return 0xFFFF | ((uint64_t)(base & 0xFFFFFF) << 16) | ((uint64_t)access << 40) | ((uint64_t)(base >> 24) << 56);
}

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  gdt[6] = descriptor16(0x8000, 0x9A);  /* 0x30: 16-bit code at the trampoline */
  gdt[7] = descriptor16(0, 0x92);       /* 0x38: 16-bit data */
  volatile uint8_t* low = (volatile uint8_t*)0;
  *(volatile uint16_t*)(low + 0x12350) = 0xC0DE;
  for (int i = 0; i < 8; i++) low[0x12360 + i] = (uint8_t)('a' + i);
  low[0x12443] = 0x5A;
  for (int i = 0; i < 0x20; i++) low[0x9000 + i] = 0;
  kputs("to real mode and back\n");
  realmode_roundtrip();
  uint16_t cs, ds;
  __asm__ volatile("mov %%cs, %0\n\tmov %%ds, %1" : "=r"(cs), "=r"(ds));
  kprintf("back in protected mode: cs=%x ds=%x cr0.pe=%d\n", cs, ds, (int)(READ_CR(0) & 1));
  volatile uint16_t* w = (volatile uint16_t*)(low + 0x9000);
  kprintf("real mode: cs=%x, word at 1234:0010=%x, near call wrote %x, sp after call/ret=%x\n", w[0], w[1], w[2],
          w[3]);
  kprintf("real mode: 32-bit add=%x\n", *(volatile uint32_t*)(low + 0x9008));
  kputs("real mode: rep movsb copied \"");
  for (int i = 0; i < 8; i++) serial_putc((char)low[0x9010 + i]);
  kprintf("\"\nreal mode: fs=%x, byte at ds:[bx+si]=%x\n", w[12], low[0x901a]);
  return 0;
}
