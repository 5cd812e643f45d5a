/* Returns to a non-canonical address are refused in ring 0, before anything is loaded:
   - SYSRETQ with a non-canonical RCX raises #GP(0) in ring 0 (SDM Vol. 2, SYSRET: the check
     Intel CPUs make, and Vireo's interpreter; the jit's SYSRET helper leaves that form to
     it), twice, each time from a block that SYSRET ends. (The guest `syscall` has the SYSRETQ
     that works.)
   - IRETQ to 64-bit code with a non-canonical RIP in its frame raises #GP(0) at the IRETQ,
     RSP still at the frame (SDM Vol. 2, IRET: "IF tempRIP is non-canonical THEN #GP(0)").
   Not under QEMU: 7.2 returns to ring 3 and faults at the fetch there (AMD's SYSRET), and
   takes IRETQ's RIP unchecked. */
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
  /* IRETQ to ring 0 (SS, RSP, RFLAGS, CS as they are) with RIP = 1 << 47. */
  uint64_t rsp_at_fault, rsp_frame;
  trap.count = 0;
  trap.vector = ~0ull;
  __asm__ volatile(TRY_SET_POINTS
                   "mov %%rsp, %%rbx\n\tpushq $0x10\n\tpush %%rbx\n\tpushq $0x2\n\tpushq $0x08\n\t"
                   "mov $0x0000800000000000, %%rax\n\tpush %%rax\n\tmov %%rsp, %1\n\t"
                   "2:\tiretq\n1:\tmov %%rsp, %0\n\tmov %%rbx, %%rsp"
                   : "=&r"(rsp_at_fault), "=&r"(rsp_frame)::TRY_CLOBBERS, "rbx");
  trap_report("iretq to rip 1 << 47");
  kprintf("  rsp at the frame: %d\n", rsp_at_fault == rsp_frame);
  return 0;
}
