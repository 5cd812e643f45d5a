// Issue 21, item 1: lret, lretq, ret far imm16 and iretq at CPL 3 pop CS and check it.
#include "harness.h"

SNIPPET(lretq_to_user_cs, "push $0x33; lea 1f(%rip), %rax; push %rax; lretq; 1:")
SNIPPET(lret_32bit, "sub $8, %rsp; lea 1f(%rip), %rax; mov %eax, (%rsp); movl $0x33, 4(%rsp); lretl; 1:")
SNIPPET(lretw_16bit, "sub $4, %rsp; movw $0x0000, (%rsp); movw $0x33, 2(%rsp); lretw")
SNIPPET(lretq_imm16, "push $0x33; lea 1f(%rip), %rax; push %rax; lretq $24; 1:")
SNIPPET(lretq_data_cs, "push $0x2b; lea 1f(%rip), %rax; push %rax; lretq; 1:")
SNIPPET(lretq_null_cs, "push $0x3; lea 1f(%rip), %rax; push %rax; lretq; 1:")
SNIPPET(lretq_rpl0_cs, "push $0x30; lea 1f(%rip), %rax; push %rax; lretq; 1:")
SNIPPET(lretq_kernel_cs, "push $0x13; lea 1f(%rip), %rax; push %rax; lretq; 1:")
SNIPPET(lretq_ldt_cs, "push $0x37; lea 1f(%rip), %rax; push %rax; lretq; 1:")
SNIPPET(lretq_noncanonical, "push $0x33; mov $0x8000000000000000, %rax; push %rax; lretq")
SNIPPET(iretq_same_level,
        "mov %rsp, %rcx; push $0x2b; push %rcx; pushfq; orq $0x8c5, (%rsp); push $0x33;"
        "lea 1f(%rip), %rax; push %rax; iretq; 1:")
SNIPPET(iretq_bad_ss,
        "mov %rsp, %rcx; push $0x33; push %rcx; pushfq; push $0x33; lea 1f(%rip), %rax; push %rax;"
        "iretq; 1:")
SNIPPET(iretq_null_ss,
        "mov %rsp, %rcx; push $0; push %rcx; pushfq; push $0x33; lea 1f(%rip), %rax; push %rax;"
        "iretq; 1:")
SNIPPET(iretq_bad_cs,
        "mov %rsp, %rcx; push $0x2b; push %rcx; pushfq; push $0x2b; lea 1f(%rip), %rax; push %rax;"
        "iretq; 1:")
// The order of the stack reads (measured natively, random-code difftest): a far return reads
// the CS slot before the RIP slot; with a CS whose RPL is not 3 it also reads the SS and RSP
// slots above the released bytes (SS's first) before any CS check; iret reads RFLAGS, then
// CS before RIP and SS before RSP, then checks CS, RIP's canonical form, then SS.
SNIPPET(lretq_cs_slot_first, "lretq")
SNIPPET(lretl_cs_slot_first, "lretl")
SNIPPET(lretq_rpl0_reads_ss_slot, "push $0x30; push $0; lretq $0x10f0")
SNIPPET(lretq_rpl0_ss_slot_mapped, "push $0x30; push $0; lretq $0x10e0")
SNIPPET(lretq_rpl3_no_ss_read, "push $0x2b; push $0; lretq $0x10f0")
SNIPPET(lretl_null_rpl0_reads_ss_slot, "sub $8, %rsp; movl $0, (%rsp); movl $0, 4(%rsp); lretl $0x10f8")
SNIPPET(iretq_rflags_slot_first, "iretq")
SNIPPET(iretq_ss_slot_before_rsp, "iretq")
SNIPPET(iretq_noncanonical_rip_before_ss,
        "mov %rsp, %rcx; push $0xf43; push %rcx; pushfq; push $0x33; mov $0x8000000000001000, %rax;"
        "push %rax; iretq")
SNIPPET(iretq_bad_cs_before_noncanonical_rip,
        "mov %rsp, %rcx; push $0x2b; push %rcx; pushfq; push $0x3f43; mov $0x8000000000001000, %rax;"
        "push %rax; iretq")

int main(void) {
  setup();
  RUN(lretq_to_user_cs, R(0));
  RUN(lret_32bit, R(0));
  RUN(lretw_16bit, R(0));
  RUN(lretq_imm16, R(0));
  RUN(lretq_data_cs, R(0));
  RUN(lretq_null_cs, R(0));
  RUN(lretq_rpl0_cs, R(0));
  RUN(lretq_kernel_cs, R(0));
  RUN(lretq_ldt_cs, R(0));
  RUN(lretq_noncanonical, R(0));
  RUN(iretq_same_level, R(0));
  RUN(iretq_bad_ss, R(0));
  RUN(iretq_null_ss, R(0));
  RUN(iretq_bad_cs, R(0));
  RUN(lretq_cs_slot_first, R(.gpr = {[RSP] = (uint64_t)HOLE}));
  RUN(lretl_cs_slot_first, R(.gpr = {[RSP] = (uint64_t)HOLE}));
  // After the two pushes rsp = DATA + 0xff00; the released bytes end at HOLE.
  struct regs top = R(.gpr = {[RSP] = (uint64_t)DATA + 0xff10});
  RUN(lretq_rpl0_reads_ss_slot, top);
  RUN(lretq_rpl0_ss_slot_mapped, top);
  RUN(lretq_rpl3_no_ss_read, top);
  RUN(lretl_null_rpl0_reads_ss_slot, top);
  RUN(iretq_rflags_slot_first, R(.gpr = {[RSP] = (uint64_t)HOLE}));
  RUN(iretq_ss_slot_before_rsp, R(.gpr = {[RSP] = (uint64_t)HOLE - 24}));
  RUN(iretq_noncanonical_rip_before_ss, R(0));
  RUN(iretq_bad_cs_before_noncanonical_rip, R(0));
  return 0;
}
