/* SYSRETQ from ring 0 with a non-canonical RCX raises #GP(0) in ring 0 before anything is
   loaded (SDM Vol. 2, SYSRET: the check Intel CPUs make, and Vireo's interpreter; the jit's
   SYSRET helper leaves that form to it), twice, each time from a block that SYSRET ends.
   (The guest `syscall` has the SYSRETQ that works.) Not under QEMU: 7.2 returns to ring 3
   and faults at the fetch there (AMD's behaviour). */
#include "lib/guest.h"

#define STAR 0xC0000081u

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  pic_init();
  idt_init();
  trap_catch(13);
  ring3_init();
  wrmsr(EFER_MSR, rdmsr(EFER_MSR) | 1);
  wrmsr(STAR, 0x13ull << 48 | 0x08ull << 32);
  uint64_t cs_after;
  for (int i = 0; i < 2; i++) {
    trap.count = 0;
    trap.vector = ~0ull;
    __asm__ volatile(TRY_SET_POINTS "mov %1, %%rcx\n\tmov $2, %%r11d\n\t2:\tsysretq\n1:\tmov %%cs, %0"
                     : "=&r"(cs_after)
                     : "r"(0x0000800000000000ull << i)
                     : TRY_CLOBBERS, "r11");
    trap_report(i ? "sysretq to rcx 1 << 48" : "sysretq to rcx 1 << 47");
    kprintf("  still in ring 0 with cs %lx\n", cs_after);
  }
  return 0;
}
