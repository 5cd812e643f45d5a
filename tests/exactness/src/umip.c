// SGDT, SIDT, SLDT, STR and SMSW at CPL 3, as Linux's UMIP emulation (arch/x86/kernel/umip.c)
// answers them, and lar/lsl/verr/verw on Linux's user GDT entries. Results are read back into
// registers so that the harness prints them.
#include "harness.h"

SNIPPET(sgdt_mem, "sgdt (%rsi); movzwl (%rsi), %eax; mov 2(%rsi), %rbx")
SNIPPET(sidt_mem, "sidt (%rsi); movzwl (%rsi), %eax; mov 2(%rsi), %rbx")
SNIPPET(sgdt_16bit, "data16 sgdt (%rsi); mov (%rsi), %rax; mov 8(%rsi), %rbx")
SNIPPET(sldt_reg, "sldt %eax; sldt %bx; sldt %rcx")
SNIPPET(str_reg, "str %eax; str %bx; str %rcx")
SNIPPET(smsw_reg, "smsw %eax; smsw %bx; smsw %rcx")
SNIPPET(smsw_mem, "smsw (%rsi); mov (%rsi), %rax")
SNIPPET(str_mem_rexw, "rex.w str (%rsi); mov (%rsi), %rax")
SNIPPET(sgdt_readonly, "sgdt (%rdx)")
SNIPPET(sgdt_crossing, "sgdt -4(%rdi)")
SNIPPET(sldt_noncanonical, "sldt (%r8)")
SNIPPET(str_at_minus_one, "str (%rbx)")
SNIPPET(lock_sldt, ".byte 0xf0, 0x0f, 0x00, 0x06")
SNIPPET(lar_user_cs, "mov $0x33, %ecx; lar %ecx, %eax; setz %bl")
SNIPPET(lar_user_ds_64, "mov $0x2b, %ecx; lar %rcx, %rax; setz %bl")
SNIPPET(lar_cs32, "mov $0x23, %ecx; lar %cx, %ax; setz %bl")
SNIPPET(lar_cpunode, "mov $0x7b, %ecx; lar %ecx, %eax; setz %bl")
SNIPPET(lar_kernel, "mov $0x10, %ecx; lar %ecx, %eax; setz %bl")
SNIPPET(lar_tss, "mov $0x40, %ecx; lar %ecx, %eax; setz %bl")
SNIPPET(lar_ldt_selector, "mov $0x37, %ecx; lar %ecx, %eax; setz %bl")
SNIPPET(lsl_user_ds, "mov $0x2b, %ecx; lsl %ecx, %eax; setz %bl")
SNIPPET(lsl_null, "xor %ecx, %ecx; lsl %ecx, %eax; setz %bl")
SNIPPET(verr_verw,
        "mov $0x33, %ecx; verr %cx; setz %al; verw %cx; setz %ah; mov $0x2b, %ecx; verr %cx;"
        "setz %bl; verw %cx; setz %bh; mov $0x7b, %ecx; verr %cx; setz %dl; verw %cx; setz %dh")
SNIPPET(verr_mem_hole, "verr (%rdi)")

int main(void) {
  setup();
  struct regs r = R(.gpr = {[RAX] = 0x1111111111111111, [RBX] = 0x2222222222222222,
                            [RCX] = 0x3333333333333333, [RSI] = (uint64_t)DATA + 0x100,
                            [RDX] = (uint64_t)RDONLY, [RDI] = (uint64_t)HOLE,
                            [8] = 0x8000000000000000});
  RUN(sgdt_mem, r);
  RUN(sidt_mem, r);
  RUN(sgdt_16bit, r);
  RUN(sldt_reg, r);
  RUN(str_reg, r);
  RUN(smsw_reg, r);
  RUN(smsw_mem, r);
  RUN(str_mem_rexw, r);
  RUN(sgdt_readonly, r);
  RUN(sgdt_crossing, r);
  RUN(sldt_noncanonical, r);
  RUN(str_at_minus_one, R(.gpr = {[RBX] = ~0ull}));
  RUN(lock_sldt, r);
  RUN(lar_user_cs, r);
  RUN(lar_user_ds_64, r);
  RUN(lar_cs32, r);
  RUN(lar_cpunode, r);
  RUN(lar_kernel, r);
  RUN(lar_tss, r);
  RUN(lar_ldt_selector, r);
  RUN(lsl_user_ds, r);
  RUN(lsl_null, r);
  RUN(verr_verw, r);
  RUN(verr_mem_hole, r);
  return 0;
}
