/* Issue 21, item 14: 8- and 16-byte x87/SSE operands at a physical address with neither RAM
   nor a device read all-ones (as QEMU) and writes there are dropped; the machine goes on. */
#include "lib/guest.h"

#define UNASSIGNED 0x3FFFF000ul /* identity-mapped by boot.S, above the guest's RAM */

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  /* SSE on: CR4.OSFXSR, and CR0.EM clear (no xmm clobbers below: -mgeneral-regs-only). */
  __asm__ volatile("mov %%cr4, %%rax; or $0x200, %%rax; mov %%rax, %%cr4;"
                   "mov %%cr0, %%rax; and $~4, %%rax; or $2, %%rax; mov %%rax, %%cr0" ::: "rax");
  uint64_t fild_value = 0, movq_value = 0, hi = 0, lo = 0;
  __asm__ volatile("fninit; fildq (%1); fistpq %0" : "=m"(fild_value) : "r"(UNASSIGNED) : "memory");
  kprintf("fild m64: %lx\n", fild_value);
  __asm__ volatile("movq (%1), %%xmm0; movq %%xmm0, %0" : "=r"(movq_value) : "r"(UNASSIGNED));
  kprintf("movq m64: %lx\n", movq_value);
  __asm__ volatile("movups (%2), %%xmm1; movq %%xmm1, %0; psrldq $8, %%xmm1; movq %%xmm1, %1"
                   : "=r"(lo), "=r"(hi) : "r"(UNASSIGNED + 16));
  kprintf("movups m128: %lx %lx\n", hi, lo);
  __asm__ volatile("pxor %%xmm2, %%xmm2; movq %%xmm2, (%0); movups %%xmm2, 16(%0); fldz; fstpl (%0)"
                   :: "r"(UNASSIGNED) : "memory");
  __asm__ volatile("movq (%1), %%xmm0; movq %%xmm0, %0" : "=r"(movq_value) : "r"(UNASSIGNED));
  kprintf("after writes: %lx\n", movq_value);
  return 0;
}
