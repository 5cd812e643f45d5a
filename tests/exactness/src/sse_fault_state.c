// A fault on an SSE memory operand reports the registers and flags that the instructions
// before it in the same block left (found by the random-code mode: the jit's sync record was
// looked up at the op's first host instruction, not at its memory access, so the state of the
// block's start came back instead).
#include "harness.h"

SNIPPET(movlps_hole, "and $0x7f, %ebx; add $3, %rcx; movlps (%rax), %xmm7")
SNIPPET(movhps_hole, "sub $1, %rcx; movhps 8(%rax), %xmm2")
SNIPPET(divps_hole, "or $0x85c982, %ecx; divps (%rax), %xmm5")
SNIPPET(pinsrw_hole, "inc %rbx; pinsrw $3, (%rax), %xmm1")
SNIPPET(cvtsi2sd_hole, "neg %rcx; cvtsi2sdq (%rax), %xmm4")
SNIPPET(movss_store_hole, "xor $5, %ebx; movss %xmm3, 4(%rax)")
SNIPPET(comisd_hole, "lea 9(%rbx), %rdx; comisd (%rax), %xmm0")

int main(void) {
  setup();
  struct regs r = R(.gpr = {[RAX] = (uint64_t)HOLE, [RBX] = 0x1234f9, [RCX] = 0x40}, .rflags = 0xa93);
  RUN(movlps_hole, r);
  RUN(movhps_hole, r);
  RUN(divps_hole, r);
  RUN(pinsrw_hole, r);
  RUN(cvtsi2sd_hole, r);
  RUN(movss_store_hole, r);
  RUN(comisd_hole, r);
  return 0;
}
