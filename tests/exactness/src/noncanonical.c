// Issue 21, item 6: a non-canonical address is #GP (SIGSEGV, SI_KERNEL, no address), or #SS
// (SIGBUS) when the access goes through the stack segment (RSP/RBP-based, push/pop, ...).
#include "harness.h"

#define NC "0x8000000000001000"
SNIPPET(load_rax, "mov (%rax), %rbx")
SNIPPET(store_rax, "mov %rbx, (%rax)")
SNIPPET(rmw_rax, "add %rbx, 8(%rax)")
SNIPPET(load_rbp, "mov (%rbp), %rbx")
SNIPPET(load_rsp_based, "mov %rax, %rsp; mov 8(%rsp), %rbx")
SNIPPET(push_nc_stack, "mov %rax, %rsp; push %rbx")
SNIPPET(pop_nc_stack, "mov %rax, %rsp; pop %rbx")
SNIPPET(call_nc_stack, "mov %rax, %rsp; call 1f; 1:")
SNIPPET(push_mem_nc, "push (%rax)")
SNIPPET(index_nc, "mov (%rsi,%rax,1), %rbx")
SNIPPET(rbp_base_nc_index, "mov (%rbp,%rax,1), %rbx")
SNIPPET(movs_nc, "mov %rax, %rsi; lea 0x100(%rsp), %rdi; movsq")
SNIPPET(sse_nc, "movups (%rax), %xmm0")
SNIPPET(fs_nc, "mov %fs:(%rax), %rbx")
SNIPPET(leavew_nc, "mov %rax, %rbp; leave")

int main(void) {
  setup();
  struct regs r = R(.gpr = {[RAX] = 0x8000000000001000, [RBX] = 7, [RBP] = 0x8000000000002000,
                            [RSI] = 0x10});
  RUN(load_rax, r);
  RUN(store_rax, r);
  RUN(rmw_rax, r);
  RUN(load_rbp, r);
  RUN(load_rsp_based, r);
  RUN(push_nc_stack, r);
  RUN(pop_nc_stack, r);
  RUN(call_nc_stack, r);
  RUN(push_mem_nc, r);
  RUN(index_nc, r);
  struct regs r2 = r;
  r2.gpr[RBP] = (uint64_t)DATA;
  RUN(rbp_base_nc_index, r2);
  RUN(movs_nc, r);
  RUN(sse_nc, r);
  RUN(leavew_nc, r);
  return 0;
}
