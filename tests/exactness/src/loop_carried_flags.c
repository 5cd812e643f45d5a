// A fault inside a loop, at an access before the loop's flags-setting instruction, reports the
// flags of the previous iteration's last flags operation (or, in the first iteration, the
// flags the loop was entered with). The jit keeps those flags uncomputed in the loop's
// registers across the back edge instead of storing them each iteration (docs/jit.md, "Loops
// in place": loop-carried lazy flags), and rebuilds them at a fault.
#include "harness.h"

// sieve's inner loop: the store faults at the read-only page after some iterations.
SNIPPET(store_cmp, "1: movb $1, (%rbx,%rax); add %rdx, %rax; cmp %r13, %rax; jle 1b")
// The same, faulting in its first iteration: the entry flags.
SNIPPET(store_cmp_first, "1: movb $1, (%rbx,%rax); add %rdx, %rax; cmp %r13, %rax; jle 1b")
// A load walking into the hole, a count down with an immediate.
SNIPPET(load_sub_imm, "1: mov (%rax), %rdx; add $8, %rax; sub $1, %rcx; jnz 1b")
// Two pointers, 32-bit compare (matmul's shape).
SNIPPET(two_ptr_cmp32, "1: movsd (%rdx), %xmm0; add $8, %rax; add $8, %rdx; mulsd %xmm1, %xmm0;"
                       " addsd -8(%rax), %xmm0; movsd %xmm0, -8(%rax); cmp %ecx, %eax; jne 1b")
// Logic flags of the pointer itself.
SNIPPET(load_test, "1: mov (%rax), %edx; add $4, %rax; test %rax, %rax; jnz 1b")
// An add whose first operand is not the value the back edge keeps (not carried: stored).
SNIPPET(add_acc, "1: mov (%rax), %rdx; add $8, %rax; add %rax, %r8; jnz 1b")
// A misaligned SSE operand (#GP, reported through the block's out-of-line fault path).
SNIPPET(movaps_cmp, "1: movaps (%rax), %xmm0; add $24, %rax; cmp %rcx, %rax; jne 1b")
// Flags written before the access in the loop (nothing carried), then a compare after it.
SNIPPET(cmp_before, "1: cmp %rcx, %rax; mov (%rax), %rdx; lea 8(%rax), %rax; sub %rdx, %rsi; jne 1b")

int main(void) {
  setup();
  // The stores run up from DATA + 0x100 in steps of 0x1230 to the read-only page.
  RUN(store_cmp, R(.gpr = {[RAX] = 0x100, [RBX] = (uint64_t)DATA, [RDX] = 0x1230, [13] = 0x7fffffff},
                   .rflags = 0x8d7));
  RUN(store_cmp_first, R(.gpr = {[RAX] = 0x10000, [RBX] = (uint64_t)DATA, [RDX] = 0x1230, [13] = 0x7fffffff},
                         .rflags = 0x8d7));
  RUN(load_sub_imm, R(.gpr = {[RAX] = (uint64_t)DATA + 0x10000 - 0x40, [RCX] = 0x10000}, .rflags = 0xa93));
  RUN(two_ptr_cmp32, R(.gpr = {[RAX] = (uint64_t)DATA + 0x8000, [RCX] = 0x1, [RDX] = (uint64_t)RDONLY - 0x30},
                       .rflags = 0x202));
  RUN(two_ptr_cmp32, R(.gpr = {[RAX] = (uint64_t)RDONLY - 0x28, [RCX] = 0x1, [RDX] = (uint64_t)DATA},
                       .rflags = 0x202));
  RUN(load_test, R(.gpr = {[RAX] = (uint64_t)DATA + 0x10000 - 0x20}, .rflags = 0x8d5));
  RUN(add_acc, R(.gpr = {[RAX] = (uint64_t)DATA + 0x10000 - 0x40, [8] = 0x123}, .rflags = 0x202));
  RUN(cmp_before, R(.gpr = {[RAX] = (uint64_t)DATA + 0x10000 - 0x40, [RCX] = 5, [RSI] = 77}, .rflags = 0x202));
  RUN(movaps_cmp, R(.gpr = {[RAX] = (uint64_t)DATA, [RCX] = (uint64_t)DATA + 0x1000}, .rflags = 0x8d7));
  RUN(movaps_cmp, R(.gpr = {[RAX] = (uint64_t)DATA + 8, [RCX] = (uint64_t)DATA + 0x1000}, .rflags = 0x8d7));
  return 0;
}
