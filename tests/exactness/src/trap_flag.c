// Issue 21, item 5 (TF): with EFLAGS.TF set, a #DB trap (SIGTRAP, TRAP_TRACE) follows each
// instruction; the popf that sets TF is not trapped, the one that clears it is.
#include "harness.h"

#define SET_TF "pushfq; orl $0x100, (%rsp); popfq;"
SNIPPET(tf_after_next, SET_TF "mov $1, %ebx; mov $2, %ecx")
SNIPPET(tf_on_jump, SET_TF "jmp 1f; nop; 1: mov $2, %ecx")
SNIPPET(tf_on_add, SET_TF "add $5, %rbx")
SNIPPET(tf_cleared_by_popf, SET_TF "pushfq; andl $~0x100, (%rsp); popfq; mov $3, %ecx")
SNIPPET(tf_on_faulting, SET_TF "mov (%rax), %rbx")
SNIPPET(tf_loop, SET_TF "1: dec %ecx; jnz 1b")
SNIPPET(tf_on_rep_movs, SET_TF "lea 0x100(%rsp), %rsi; lea 0x200(%rsp), %rdi; mov $3, %ecx; rep movsb")
// A rep string instruction traps after each iteration, rip still on it while more remain.
SNIPPET(tf_in_rep_movs, SET_TF "rep movsb")
SNIPPET(tf_in_rep_stos_last, SET_TF "rep stosq")

int main(void) {
  setup();
  struct regs r = R(.gpr = {[RAX] = (uint64_t)HOLE, [RCX] = 4});
  RUN(tf_after_next, r);
  RUN(tf_on_jump, r);
  RUN(tf_on_add, r);
  RUN(tf_cleared_by_popf, r);
  RUN(tf_on_faulting, r);
  RUN(tf_loop, r);
  RUN(tf_on_rep_movs, r);
  RUN(tf_in_rep_movs, R(.gpr = {[RSI] = (uint64_t)DATA + 0x100, [RDI] = (uint64_t)DATA + 0x200,
                                [RCX] = 3}));
  RUN(tf_in_rep_stos_last, R(.gpr = {[RDI] = (uint64_t)DATA + 0x200, [RCX] = 1}));
  return 0;
}
