// Issue 21, item 7: REG_TRAPNO and REG_ERR in the signal frame — the write bit of a
// read-modify-write instruction, the present bit of protection faults, the instruction-fetch
// bit, and #GP error codes.
#include "harness.h"

SNIPPET(read_hole, "mov (%rax), %rbx")
SNIPPET(write_hole, "mov %rbx, (%rax)")
SNIPPET(rmw_hole, "add %rbx, (%rax)")
SNIPPET(rmw_inc_hole, "incl (%rax)")
SNIPPET(rmw_xchg_hole, "xchg %rbx, (%rax)")
SNIPPET(rmw_readonly, "add %rbx, (%rdx)")
SNIPPET(write_readonly, "movl $1, (%rdx)")
SNIPPET(read_readonly_ok, "mov (%rdx), %rbx")
SNIPPET(cmpxchg_readonly, "cmpxchg %rbx, (%rdx)")
SNIPPET(push_into_hole, "mov %rax, %rsp; push $1")
SNIPPET(pop_from_hole, "mov %rax, %rsp; pop %rbx")
SNIPPET(store_crossing_into_hole, "movq $1, (%rsi)")
SNIPPET(fetch_hole, "jmp *%rax")
SNIPPET(call_hole, "call *%rax")
SNIPPET(fetch_readonly_page_jump, "lea 4096(%rdx), %rcx; jmp *%rcx")
SNIPPET(gp_privileged, "hlt")
SNIPPET(gp_int, "int $0x20")

int main(void) {
  setup();
  struct regs r = R(.gpr = {[RAX] = (uint64_t)HOLE, [RBX] = 7, [RDX] = (uint64_t)RDONLY,
                            [RSI] = (uint64_t)DATA + 0xfffc});
  RUN(read_hole, r);
  RUN(write_hole, r);
  RUN(rmw_hole, r);
  RUN(rmw_inc_hole, r);
  RUN(rmw_xchg_hole, r);
  RUN(rmw_readonly, r);
  RUN(write_readonly, r);
  RUN(read_readonly_ok, r);
  RUN(cmpxchg_readonly, r);
  RUN(push_into_hole, r);
  RUN(pop_from_hole, r);
  // The page after DATA is the hole's neighbour: unmapped.
  munmap(DATA + 0x10000, 4096);
  RUN(store_crossing_into_hole, r);
  RUN(fetch_hole, r);
  RUN(call_hole, r);
  RUN(fetch_readonly_page_jump, r);
  RUN(gp_privileged, r);
  RUN(gp_int, r);
  return 0;
}
