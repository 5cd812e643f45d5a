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
  return 0;
}
