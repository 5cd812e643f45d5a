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
  struct regs odd = R(.gpr = {[RSI] = (uint64_t)DATA + 0x101, [RDX] = 0x8000000000000000});
  RUN(ac_lods_misaligned, odd);
  RUN(ac_stos_misaligned, r);
  RUN(ac_movs_dst_misaligned, r);
  RUN(ac_rep_zero_count, r);
  RUN(ac_scas_misaligned, r);
  RUN(ac_stosb_any, r);
  RUN(ac_leave_misaligned, r);
  RUN(ac_leave_kernel_half, r);
  return 0;
}
