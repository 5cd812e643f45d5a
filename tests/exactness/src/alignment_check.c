// Issue 21, item 5 (AC): with EFLAGS.AC set at CPL 3 (Linux sets CR0.AM), a misaligned data
// access raises #AC (SIGBUS, BUS_ADRALN); aligned ones and byte accesses do not.
#include "harness.h"

#define SET_AC "pushfq; orl $0x40000, (%rsp); popfq;"
#define CLEAR_AC "pushfq; andl $~0x40000, (%rsp); popfq;"
SNIPPET(ac_aligned, SET_AC "mov 8(%rsi), %rbx; mov 4(%rsi), %ecx;" CLEAR_AC)
SNIPPET(ac_byte, SET_AC "mov 1(%rsi), %bl; movb $1, 3(%rsi);" CLEAR_AC)
SNIPPET(ac_load_misaligned, SET_AC "mov 1(%rsi), %rbx;" CLEAR_AC)
SNIPPET(ac_store_misaligned, SET_AC "movl $1, 2(%rsi);" CLEAR_AC)
SNIPPET(ac_word_misaligned, SET_AC "movw 1(%rsi), %bx;" CLEAR_AC)
SNIPPET(ac_rmw_misaligned, SET_AC "addq $1, 4(%rsi);" CLEAR_AC)
SNIPPET(ac_push_misaligned_stack, SET_AC "sub $4, %rsp; push %rbx;" CLEAR_AC)
SNIPPET(ac_cleared, "mov 1(%rsi), %rbx")
// A misaligned non-canonical address: #GP (SIGSEGV, SI_KERNEL) comes before #AC.
SNIPPET(ac_noncanonical_misaligned, SET_AC "mov 1(%rdx), %rbx;" CLEAR_AC)
SNIPPET(ac_moffs_noncanonical, SET_AC ".byte 0xa3; .quad 0xf2d2302f067b44e5;" CLEAR_AC)
// String instructions check their implicit rSI/rDI operands; a rep with rCX = 0 touches
// nothing; leave reads the saved frame pointer at rBP.
SNIPPET(ac_lods_misaligned, SET_AC "lodsl;" CLEAR_AC)
SNIPPET(ac_stos_misaligned, SET_AC "lea 2(%rsi), %rdi; stosw;" CLEAR_AC)
SNIPPET(ac_movs_dst_misaligned, SET_AC "lea 4(%rsi), %rdi; movsq;" CLEAR_AC)
SNIPPET(ac_rep_zero_count, SET_AC "lea 1(%rsi), %rdi; xor %ecx, %ecx; rep stosq;" CLEAR_AC)
SNIPPET(ac_scas_misaligned, SET_AC "lea 1(%rsi), %rdi; scasl;" CLEAR_AC)
SNIPPET(ac_stosb_any, SET_AC "lea 1(%rsi), %rdi; stosb;" CLEAR_AC)
SNIPPET(ac_leave_misaligned, SET_AC "lea 4(%rsi), %rbp; leave;" CLEAR_AC)
SNIPPET(ac_leave_kernel_half, SET_AC "mov $-2, %rbp; leave;" CLEAR_AC)

// Which alignment each kind of operand requires, at offsets 1, 2, 4 and 8 from an aligned
// address (the stack misaligned the same way): 16 for the unaligned SSE moves (none on an
// Intel Xeon: cpu/host_quirks.h), 8 for m80, 4 for the x87 environment and state images and
// fxsave; nothing for lea, nops, prefetches, cache hints, the instructions that #GP first, or
// the SSE forms that require alignment.
SNIPPET(m_movupd, SET_AC "movupd (%rsi), %xmm0")
SNIPPET(m_movups_st, SET_AC "movups %xmm0, (%rsi)")
SNIPPET(m_movdqu, SET_AC "movdqu (%rsi), %xmm0")
SNIPPET(m_lddqu, SET_AC "lddqu (%rsi), %xmm0")
SNIPPET(m_movq_x, SET_AC "movq (%rsi), %xmm0")
SNIPPET(m_movsd_x, SET_AC "movsd (%rsi), %xmm0")
SNIPPET(m_addsd_x, SET_AC "addsd (%rsi), %xmm0")
SNIPPET(m_fnsave, SET_AC "fnsave (%rsi)")
SNIPPET(m_frstor, SET_AC "frstor (%rsi)")
SNIPPET(m_fnstenv, SET_AC "fnstenv (%rsi)")
SNIPPET(m_fldenv, SET_AC "fldenv (%rsi)")
SNIPPET(m_fldt, SET_AC "fldt (%rsi)")
SNIPPET(m_filds, SET_AC "filds (%rsi)")
SNIPPET(m_fldl, SET_AC "fldl (%rsi)")
SNIPPET(m_fnstcw, SET_AC "fnstcw (%rsi)")
SNIPPET(m_fnstsw, SET_AC "fnstsw (%rsi)")
SNIPPET(m_cmpxchg16b, SET_AC "cmpxchg16b (%rsi)")
SNIPPET(m_lea, SET_AC "lea (%rsi), %rax")
SNIPPET(m_prefetch, SET_AC "prefetcht0 (%rsi)")
SNIPPET(m_nopm, SET_AC "nopl (%rsi)")
SNIPPET(m_hintnop, SET_AC ".byte 0x0f,0x1c,0x3e")
SNIPPET(m_stmxcsr, SET_AC "stmxcsr (%rsi)")
SNIPPET(m_fxsave, SET_AC "fxsave (%rsi)")
SNIPPET(m_enter8, SET_AC "enter $8, $0")
SNIPPET(m_enter_nest, SET_AC "enter $8, $2")
SNIPPET(m_ltr, SET_AC "ltr (%rsi)")
SNIPPET(m_lgdt, SET_AC "lgdt (%rsi)")
SNIPPET(m_sgdt, SET_AC "sgdt (%rsi)")
SNIPPET(m_smsw, SET_AC "smsw (%rsi)")
SNIPPET(m_sldt, SET_AC "sldt (%rsi)")
SNIPPET(m_callm, SET_AC "call *(%rsi)")
SNIPPET(m_maskmov, SET_AC "pcmpeqb %xmm1, %xmm1; mov %rsi, %rdi; maskmovdqu %xmm1, %xmm0")
SNIPPET(m_movntdq, SET_AC "movntdq %xmm0, (%rsi)")
SNIPPET(m_movntps_x, SET_AC "movntps %xmm0, (%rsi)")
SNIPPET(m_movhps_x, SET_AC "movhps (%rsi), %xmm0")
SNIPPET(m_pinsrw_x, SET_AC "pinsrw $1, (%rsi), %xmm0")
SNIPPET(m_xchg_m, SET_AC "xchg %eax, (%rsi)")
// enter with a nesting level copies frame pointers from rBP: a misaligned rBP is #AC.
SNIPPET(ac_enter_nested_misaligned_rbp, SET_AC "lea 4(%rsi), %rbp; enter $16, $3;" CLEAR_AC)
// A far return to another privilege level reads SS:RSP above the released bytes: #AC there.
SNIPPET(ac_ud1_misaligned_operand, SET_AC "ud1 1(%rsi), %eax;" CLEAR_AC)
SNIPPET(ac_lret_rpl0_misaligned_ss_slot, SET_AC "push $0x30; push $0; lretq $0x11;" CLEAR_AC)
// A non-canonical fxrstor image through rBP is #SS (SIGBUS), before its alignment #GP.
SNIPPET(fxrstor_noncanonical_rbp, "mov %rdx, %rbp; fxrstor 3(%rbp)")

int main(void) {
  setup();
  struct regs r = R(.gpr = {[RSI] = (uint64_t)DATA + 0x100, [RDX] = 0x8000000000000000});
  RUN(ac_aligned, r);
  RUN(ac_byte, r);
  RUN(ac_load_misaligned, r);
  RUN(ac_store_misaligned, r);
  RUN(ac_word_misaligned, r);
  RUN(ac_rmw_misaligned, r);
  RUN(ac_push_misaligned_stack, r);
  RUN(ac_cleared, r);
  RUN(ac_noncanonical_misaligned, r);
  RUN(ac_moffs_noncanonical, r);
  RUN(ac_enter_nested_misaligned_rbp, r);
  RUN(fxrstor_noncanonical_rbp, r);
  RUN(ac_lret_rpl0_misaligned_ss_slot, r);
  RUN(ac_ud1_misaligned_operand, r);
  struct regs odd = R(.gpr = {[RSI] = (uint64_t)DATA + 0x101, [RDX] = 0x8000000000000000});
  RUN(ac_lods_misaligned, odd);
  RUN(ac_stos_misaligned, r);
  RUN(ac_movs_dst_misaligned, r);
  RUN(ac_rep_zero_count, r);
  RUN(ac_scas_misaligned, r);
  RUN(ac_stosb_any, r);
  RUN(ac_leave_misaligned, r);
  RUN(ac_leave_kernel_half, r);
  static const int offsets[] = {1, 2, 4, 8};
  for (int k = 0; k < 4; ++k) {
    printf("== offset %d\n", offsets[k]);
    struct regs m = R(.gpr = {[RSI] = (uint64_t)DATA + 0x100 + offsets[k],
                              [RSP] = (uint64_t)DATA + 0x8000 + offsets[k]});
    RUN(m_movupd, m); RUN(m_movups_st, m); RUN(m_movdqu, m); RUN(m_lddqu, m); RUN(m_movq_x, m); RUN(m_movsd_x, m); RUN(m_addsd_x, m); RUN(m_fnsave, m); RUN(m_frstor, m); RUN(m_fnstenv, m); RUN(m_fldenv, m); RUN(m_fldt, m); RUN(m_filds, m); RUN(m_fldl, m); RUN(m_fnstcw, m); RUN(m_fnstsw, m); RUN(m_cmpxchg16b, m); RUN(m_lea, m); RUN(m_prefetch, m); RUN(m_nopm, m); RUN(m_hintnop, m); RUN(m_stmxcsr, m); RUN(m_fxsave, m); RUN(m_enter8, m); RUN(m_enter_nest, m); RUN(m_ltr, m); RUN(m_lgdt, m); RUN(m_sgdt, m); RUN(m_smsw, m); RUN(m_sldt, m); RUN(m_callm, m); RUN(m_maskmov, m); RUN(m_movntdq, m); RUN(m_movntps_x, m); RUN(m_movhps_x, m); RUN(m_pinsrw_x, m); RUN(m_xchg_m, m);
  }
  return 0;
}
