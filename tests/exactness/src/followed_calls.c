// The jit translates a direct call's callee into the caller's block, and the callee's `ret`
// as a compare with the call's continuation (docs/jit.md, "Calls followed into their
// callee"); a `jmp`/`call` through a pointer in read-only memory (a PLT stub's GOT slot) as a
// branch to where it points, for as long as nothing changes that memory. Native is the
// oracle for each way this can go wrong: a fault in the callee (the pushed return address and
// rsp must be there), a callee that returns elsewhere (rewritten, replaced or non-canonical
// return address; a stack it moved into the hole), a callee whose code the caller rewrites,
// a loop around a call, and a pointer the program changes with mprotect between two calls.
#include "harness.h"

// The callee adds to rax, the continuation to rcx: both must have run once.
SNIPPET(call_ret, "call 1f; add $1, %rcx; jmp 2f; 1: lea 5(%rax), %rax; ret; 2:")
// A fault in the callee after its push: the return address and rbx are on the stack.
SNIPPET(fault_in_callee, "call 1f; jmp 2f; 1: push %rbx; mov (%r9), %rax; pop %rbx; ret; 2:")
// ... and after a side exit the callee did not take.
SNIPPET(fault_after_branch, "call 1f; jmp 2f; 1: test %rax, %rax; jz 3f; mov (%r9), %rax; 3: ret; 2:")
// The callee returns 3 bytes past the continuation (over three int3s).
SNIPPET(ret_rewritten, "call 1f; int3; int3; int3; add $1, %rcx; jmp 2f; 1: addq $3, (%rsp); ret; 2:")
// The callee replaces the return address.
SNIPPET(ret_replaced, "call 1f; int3; 3: add $2, %rcx; jmp 2f; 1: lea 3b(%rip), %rdx; mov %rdx, (%rsp); ret; 2:")
// Non-canonical return address: #GP at the ret, rsp not popped.
SNIPPET(ret_noncanonical, "call 1f; jmp 2f; 1: mov %r10, (%rsp); ret; 2:")
// The callee moves rsp into the hole: #PF at the ret's load.
SNIPPET(ret_from_hole, "call 1f; jmp 2f; 1: mov %r9, %rsp; ret; 2:")
// ret $8 is not matched (it pops more): an ordinary return.
SNIPPET(ret_imm, "push %rax; call 1f; add $1, %rcx; jmp 2f; 1: ret $8; 2:")
// A loop whose body calls: the callee is followed inside the loop, which loops in place.
SNIPPET(call_in_loop, "mov $7, %ecx; 1: call 3f; dec %ecx; jnz 1b; jmp 2f; 3: add %rcx, %rax; ret; 2:")
// The caller rewrites its callee's immediate between two calls (self-modifying code).
SNIPPET(callee_rewritten,
        "mov $2, %ecx; 1: call 3f; lea 4f(%rip), %rdx; movb $0x10, (%rdx); dec %ecx; jnz 1b; jmp 2f;"
        "3: .byte 0x48, 0x83, 0xc3; 4: .byte 0x01; ret; 2:")  // add $1, %rbx
// A fault in a callee reached through a PLT-like stub (jmp through a read-only pointer).
SNIPPET(plt_fault, "call 1f; jmp 2f; 1: jmp *0x50020108; .globl plt_fault_callee; plt_fault_callee: "
                   "mov (%r9), %rax; ret; 2:")
// Calls through a pointer in the read-only page, which the snippet changes between two calls:
// mprotect it writable, store the second target, mprotect it read-only again.
SNIPPET(pointer_changed,
        "mov $2, %r12d; 1: call *0x50020100; dec %r12d; jz 2f;"
        "mov $10, %eax; mov $0x50020000, %edi; mov $4096, %esi; mov $3, %edx; syscall;"
        "movq %r13, 0x50020100;"
        "mov $10, %eax; mov $0x50020000, %edi; mov $4096, %esi; mov $1, %edx; syscall;"
        "jmp 1b;"
        ".globl pointer_changed_t1; pointer_changed_t1: add $1, %rbx; ret;"
        ".globl pointer_changed_t2; pointer_changed_t2: add $16, %rbx; ret; 2:")
extern const uint8_t plt_fault_callee[], pointer_changed_t1[], pointer_changed_t2[];

// Each case from a fresh code page: the harness rewrites CODE for every case, and a page
// written four times is left to the interpreter tier (docs/jit.md, "SMC storms"), where none
// of this would be translated. munmap drops the page's code and its write-fault count.
static void fresh_code(void) {
  munmap(CODE, 4096);
  mmap(CODE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}
#undef RUN
#define RUN(name, r) (fresh_code(), run(#name, name##_start, (size_t)(name##_end - name##_start), r))

static void set_pointer(size_t offset, uint64_t value) {
  mprotect(RDONLY, 4096, PROT_READ | PROT_WRITE);
  memcpy(RDONLY + offset, &value, 8);
  mprotect(RDONLY, 4096, PROT_READ);
}

int main(void) {
  setup();
  struct regs r = R(.gpr = {[RAX] = 1, [RCX] = 0, [RBX] = 0x77, [9] = (uint64_t)HOLE + 0x10,
                            [10] = 0x8000000000001000ull});
  RUN(call_ret, r);
  RUN(fault_in_callee, r);
  dump("stack", DATA + 0x8000 - 16, 16);
  RUN(fault_after_branch, r);
  dump("stack", DATA + 0x8000 - 16, 16);
  RUN(ret_rewritten, r);
  RUN(ret_replaced, r);
  RUN(ret_noncanonical, r);
  RUN(ret_from_hole, r);
  RUN(ret_imm, r);
  RUN(call_in_loop, r);
  RUN(callee_rewritten, r);
  set_pointer(0x108, (uint64_t)CODE + (uint64_t)(plt_fault_callee - plt_fault_start));
  RUN(plt_fault, r);
  dump("stack", DATA + 0x8000 - 16, 16);
  set_pointer(0x100, (uint64_t)CODE + (uint64_t)(pointer_changed_t1 - pointer_changed_start));
  struct regs p = r;
  p.gpr[13] = (uint64_t)CODE + (uint64_t)(pointer_changed_t2 - pointer_changed_start);
  RUN(pointer_changed, p);
  return 0;
}
