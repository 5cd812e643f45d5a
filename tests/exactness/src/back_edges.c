// The jit follows a loop's conditional back edge from the block that starts where a call in
// the loop body returns (docs/jit.md, "Back edges followed from a call's continuation"): the
// loop's head is translated into that block, and the loop's exit becomes a side exit on the
// negated condition. Native is the oracle: a fault in the followed head (its pc, the registers
// of that trip), and the exit of loops on unsigned, signed and sign conditions with the flags
// it leaves.
#include "harness.h"

// The head's load walks off the data into the hole on the fifth trip: #PF at the head's mov,
// rbx the sum of four trips, every call returned.
SNIPPET(fault_in_head,
        "lea 3f(%rip), %r13; mov $8, %ecx; mov $0x5001d000, %edi;"
        "1: mov (%rdi), %rax; add $0x1000, %rdi; call *%r13; add %rax, %rbx; dec %ecx; jnz 1b; jmp 2f;"
        "3: add %rcx, %rax; ret; 2:")
// Back edges on CF, on SF != OF or ZF, and on SF alone.
SNIPPET(loop_jb,
        "lea 3f(%rip), %r13; xor %ecx, %ecx; mov $5, %r8d;"
        "1: call *%r13; add $1, %rcx; cmp %r8, %rcx; jb 1b; jmp 2f; 3: add %rcx, %rax; ret; 2:")
SNIPPET(loop_jle,
        "lea 3f(%rip), %r13; mov $-3, %rcx;"
        "1: call *%r13; add $1, %rcx; cmp $2, %rcx; jle 1b; jmp 2f; 3: add %rcx, %rax; ret; 2:")
SNIPPET(loop_js,
        "lea 3f(%rip), %r13; mov $-4, %rcx;"
        "1: call *%r13; add $1, %rcx; js 1b; jmp 2f; 3: imul %rcx, %rax; ret; 2:")
// A direct call in the body (followed into the callee as well), leaving on the fifth trip.
SNIPPET(loop_direct_call,
        "mov $5, %ecx; 1: mov %rcx, %rdx; call 3f; add %rax, %rbx; sub $1, %ecx; jg 1b; jmp 2f;"
        "3: lea 1(%rdx,%rdx), %rax; ret; 2:")

// Each case from a fresh code page: a page written four times is left to the interpreter tier
// (docs/jit.md, "SMC storms"), where none of this would be translated.
static void fresh_code(void) {
  munmap(CODE, 4096);
  mmap(CODE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}
#undef RUN
#define RUN(name, r) (fresh_code(), run(#name, name##_start, (size_t)(name##_end - name##_start), r))

int main(void) {
  setup();
  struct regs r = R(.gpr = {[RAX] = 1, [RCX] = 0, [RBX] = 0x77});
  RUN(fault_in_head, r);
  dump("stack", DATA + 0x8000 - 16, 16);
  RUN(loop_jb, r);
  RUN(loop_jle, r);
  RUN(loop_js, r);
  RUN(loop_direct_call, r);
  return 0;
}
