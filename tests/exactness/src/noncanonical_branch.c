// Issue 21, item 6: a branch to a non-canonical address faults at the branch (#GP(0), rip of
// the jmp/call/ret), not at the fetch of the target. Under both engines: the jit checks the
// target when its jump cache misses (a hit is a translated block's pc, always canonical), and
// a failing ret undoes its rsp change before raising #GP.
#include "harness.h"

SNIPPET(jmp_reg_nc, "jmp *%rax")
SNIPPET(jmp_mem_nc, "push %rax; jmp *(%rsp)")
SNIPPET(call_reg_nc, "call *%rax")
SNIPPET(ret_nc, "push %rax; ret")
SNIPPET(ret_imm_nc, "push %rax; ret $8")
// The top address is canonical (the kernel's half): the fetch faults there. The jit's jump
// cache once took it for an empty slot's tag and jumped to a null host address.
SNIPPET(jmp_top, "jmp *%rbx")
SNIPPET(ret_top, "push %rbx; ret")
// A call pushes its return address only once its target is known canonical: the jit probes
// its jump cache before the push and checks the target on the miss path, after hits (a loop
// of four calls, the last one's target or stack bad: r8 = a stack in the read-only page, r9 =
// one in the hole). What is below rsp is printed: the failing call must not have written it.
SNIPPET(call_reg_loop_nc,
        "mov $4, %ecx; lea 2f(%rip), %rdx; 1: dec %ecx; jnz 3f; mov %rax, %rdx; 3: call *%rdx;"
        "2: add $8, %rsp; movq $0x77, -8(%rsp); jmp 1b")
SNIPPET(call_mem_loop_nc,
        "mov $4, %ecx; lea 2f(%rip), %rdx; 1: dec %ecx; jnz 3f; mov %rax, %rdx; 3: mov %rdx, 8(%rsi);"
        "call *8(%rsi); 2: add $8, %rsp; movq $0x77, -8(%rsp); jmp 1b")
SNIPPET(call_push_rdonly,
        "mov $4, %ecx; lea 2f(%rip), %rdx; 1: dec %ecx; jnz 3f; mov %r8, %rsp; 3: call *%rdx;"
        "2: add $8, %rsp; movq $0x77, -8(%rsp); jmp 1b")
SNIPPET(call_push_hole,
        "mov $4, %ecx; lea 2f(%rip), %rdx; 1: dec %ecx; jnz 3f; mov %r9, %rsp; 3: call *%rdx;"
        "2: add $8, %rsp; movq $0x77, -8(%rsp); jmp 1b")
SNIPPET(call_nc_and_push_hole,
        "mov $4, %ecx; lea 2f(%rip), %rdx; 1: dec %ecx; jnz 3f; mov %r9, %rsp; mov %rax, %rdx; 3: call *%rdx;"
        "2: add $8, %rsp; movq $0x77, -8(%rsp); jmp 1b")

int main(void) {
  setup();
  struct regs r = R(.gpr = {[RAX] = 0x8000000000001000, [RBX] = ~0ull});
  RUN(jmp_reg_nc, r);
  RUN(jmp_mem_nc, r);
  RUN(call_reg_nc, r);
  RUN(ret_nc, r);
  RUN(ret_imm_nc, r);
  RUN(jmp_top, r);
  RUN(ret_top, r);
  struct regs c = R(.gpr = {[RAX] = 0x8000000000001000, [RSI] = (uint64_t)DATA,
                            [8] = (uint64_t)RDONLY + 8, [9] = (uint64_t)HOLE + 8});
  RUN(call_reg_loop_nc, c);
  dump("below rsp", DATA + 0x8000 - 16, 16);
  RUN(call_mem_loop_nc, c);
  dump("below rsp", DATA + 0x8000 - 16, 16);
  RUN(call_push_rdonly, c);
  RUN(call_push_hole, c);
  RUN(call_nc_and_push_hole, c);
  return 0;
}
