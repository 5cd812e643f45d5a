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
// String instructions: rep stos/movs into a hole report a write (the engines probe each page
// with a write access); cmps reads ES:rDI first, so when both operands fault the destination's
// fault is the one reported — except repe cmpsb, which reads the source first (this host's
// order; the manual gives none).
SNIPPET(rep_stosb_hole, "mov %rax, %rdi; mov $64, %ecx; rep stosb")
SNIPPET(rep_movsq_hole, "mov %rax, %rdi; mov %rdx, %rsi; mov $64, %ecx; rep movsq")
SNIPPET(cmpsb_both_fault, "mov %rax, %rdi; mov $0x8000000000000000, %rsi; cmpsb")
SNIPPET(cmpsq_dst_noncanonical, "mov %rax, %rsi; mov $0x8000000000000000, %rdi; cmpsq")
SNIPPET(repe_cmpsd_both_fault, "mov %rax, %rdi; lea 8(%rax), %rsi; mov $4, %ecx; repe cmpsl")
// A bulk store (fnsave) whose first page is unmapped reports its own address, not the end of
// that page.
SNIPPET(fnsave_straddle_hole, "lea -20(%rax), %rdx; lea 4096(%rdx), %rdx; fnsave (%rdx)")
SNIPPET(repe_cmpsb_src_noncanonical, "mov %rax, %rdi; mov $0x8000000000000000, %rsi; mov $4, %ecx; repe cmpsb")
SNIPPET(repe_cmpsb_dst_noncanonical, "mov %rax, %rsi; mov $0x8000000000000000, %rdi; mov $4, %ecx; repe cmpsb")
SNIPPET(repne_cmpsb_both_fault, "mov %rax, %rsi; lea 8(%rax), %rdi; mov $4, %ecx; repne cmpsb")
SNIPPET(repe_cmpsq_dst_noncanonical, "mov %rax, %rsi; mov $0x8000000000000000, %rdi; mov $4, %ecx; repe cmpsq")
// fxsave/fxrstor check the image's last byte before its first (this host): the fault names
// la + 511 when the last byte's page is missing, else la. fnsave/frstor/fnstenv/fldenv check
// the first byte first, then the last.
SNIPPET(fxsave_into_hole, "fxsave (%rax)")
SNIPPET(fxsave_crossing_into_hole, "lea -0x100(%rsi), %rcx; add $4, %rcx; fxsave (%rcx)")
SNIPPET(fxrstor_crossing_into_hole, "lea -0x100(%rsi), %rcx; add $4, %rcx; fxrstor (%rcx)")
SNIPPET(fxsave_from_hole_into_mapped, "lea 0xf00(%rax), %rcx; fxsave (%rcx)")
SNIPPET(fnsave_crossing_into_hole, "lea -0x49(%rsi), %rcx; add $4, %rcx; fnsave (%rcx)")
SNIPPET(frstor_crossing_into_hole, "lea -0x49(%rsi), %rcx; add $4, %rcx; frstor (%rcx)")
SNIPPET(fnstenv_crossing_into_hole, "lea -0x10(%rsi), %rcx; add $4, %rcx; fnstenv (%rcx)")
SNIPPET(fldenv_crossing_into_hole, "lea -0x10(%rsi), %rcx; add $4, %rcx; fldenv (%rcx)")
SNIPPET(fnsave_from_hole_into_mapped, "lea 0xfec(%rax), %rcx; fnsave (%rcx)")
// maskmovdqu checks its whole 16-byte destination for writing, whatever the mask.
SNIPPET(maskmovdqu_byte3_hole, "pxor %xmm1, %xmm1; mov $0x80000000, %ecx; movd %ecx, %xmm1; mov %rax, %rdi; maskmovdqu %xmm1, %xmm0")
SNIPPET(maskmovdqu_none_hole, "pxor %xmm1, %xmm1; mov %rax, %rdi; maskmovdqu %xmm1, %xmm0")
SNIPPET(maskmovdqu_kernel_half, "pxor %xmm1, %xmm1; mov $0x80000000, %ecx; movd %ecx, %xmm1; mov $-2, %rdi; maskmovdqu %xmm1, %xmm0")
// A near call through a non-canonical pointer with an unusable stack: the push's #PF first.
SNIPPET(call_noncanonical_bad_stack, "mov %rax, %rsp; mov $0x8000000000000000, %rcx; call *%rcx")
SNIPPET(call_noncanonical_good_stack, "mov $0x8000000000000000, %rcx; call *%rcx")

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
  RUN(rep_stosb_hole, r);
  RUN(rep_movsq_hole, r);
  RUN(cmpsb_both_fault, r);
  RUN(cmpsq_dst_noncanonical, r);
  RUN(repe_cmpsd_both_fault, r);
  RUN(fnsave_straddle_hole, r);
  RUN(repe_cmpsb_src_noncanonical, r);
  RUN(repe_cmpsb_dst_noncanonical, r);
  RUN(repne_cmpsb_both_fault, r);
  RUN(repe_cmpsq_dst_noncanonical, r);
  RUN(maskmovdqu_byte3_hole, r);
  RUN(maskmovdqu_none_hole, r);
  RUN(maskmovdqu_kernel_half, r);
  RUN(call_noncanonical_bad_stack, r);
  RUN(call_noncanonical_good_stack, r);
  RUN(fxsave_into_hole, r);
  RUN(fxsave_crossing_into_hole, r);
  RUN(fxrstor_crossing_into_hole, r);
  mmap(HOLE + 4096, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  RUN(fxsave_from_hole_into_mapped, r);
  RUN(fnsave_crossing_into_hole, r);
  RUN(frstor_crossing_into_hole, r);
  RUN(fnstenv_crossing_into_hole, r);
  RUN(fldenv_crossing_into_hole, r);
  RUN(fnsave_from_hole_into_mapped, r);
  return 0;
}
