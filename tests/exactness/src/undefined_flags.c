// Issue 21, item 10: flags the manual leaves undefined are the same in both engines and, on
// this host, the same as native: mul/imul keep SF/ZF/AF/PF, div sets AF and clears SF/ZF/PF,
// shifts set AF, bsf/bsr keep only PF (and ZF). A jcc after them reads the result.
#include "harness.h"

// Each starts from a known RFLAGS (popfq), then the instruction, then a jg/jp and setcc so
// that a wrong flag changes a register too.
#define FLAGS_IN(v) "push $" #v "; popfq;"
#define READ_BACK "setg %bl; setp %bh; sets %cl; setz %ch; pushfq; pop %rdx; and $0x8d5, %edx"

SNIPPET(mul_keeps, FLAGS_IN(0x8d7) "mov $3, %eax; mov $5, %esi; mul %rsi;" READ_BACK)
SNIPPET(mul_keeps_clear, FLAGS_IN(0x2) "mov $-1, %rax; mov $2, %esi; mul %rsi;" READ_BACK)
SNIPPET(imul1, FLAGS_IN(0x0c4) "mov $-3, %rax; mov $7, %esi; imul %rsi;" READ_BACK)
SNIPPET(imul2, FLAGS_IN(0x095) "mov $0x40000000, %eax; imul %eax, %eax;" READ_BACK)
SNIPPET(imul3, FLAGS_IN(0x044) "mov $-9, %esi; imul $100, %rsi, %rax;" READ_BACK)
SNIPPET(mul8, FLAGS_IN(0x8c1) "mov $200, %eax; mov $3, %esi; mul %sil;" READ_BACK)
SNIPPET(div64, FLAGS_IN(0x8c5) "mov $1000, %eax; xor %edx, %edx; mov $7, %esi; div %rsi;" READ_BACK)
SNIPPET(idiv32, FLAGS_IN(0x0) "mov $-1000, %eax; cdq; mov $7, %esi; idiv %esi;" READ_BACK)
SNIPPET(shl_af, FLAGS_IN(0x2) "mov $0x81, %eax; shl $3, %eax;" READ_BACK)
SNIPPET(shr_of_count2, FLAGS_IN(0x2) "mov $0xc0000000, %eax; shr $2, %eax;" READ_BACK)
SNIPPET(rcl8_count9, FLAGS_IN(0x801) "mov $0x7f, %eax; rcl $9, %al;" READ_BACK)
SNIPPET(shld16_count16, FLAGS_IN(0x2) "mov $0x8001, %eax; mov $0x1234, %esi; shld $16, %si, %ax;" READ_BACK)
SNIPPET(bsf_zero, FLAGS_IN(0x8d5) "mov $0x12, %eax; xor %esi, %esi; bsf %rsi, %rax;" READ_BACK)
SNIPPET(bsr_value, FLAGS_IN(0x8d5) "mov $0x12, %eax; mov $0x10, %esi; bsr %rsi, %rax;" READ_BACK)
SNIPPET(tzcnt_all_set, FLAGS_IN(0x8d5) "mov $0x40, %esi; tzcnt %esi, %eax;" READ_BACK)
SNIPPET(tzcnt_zero, FLAGS_IN(0x8d4) "xor %esi, %esi; tzcnt %rsi, %rax;" READ_BACK)
SNIPPET(lzcnt_all_set, FLAGS_IN(0x8d5) "mov $1, %esi; lzcnt %si, %ax;" READ_BACK)
// adcx/adox write only their own carry flag (helper/isa2: the jit moves the carry through one
// bit of its flags value); `lock or $0` (the fence idiom) leaves AF as the host's `or` does.
SNIPPET(adcx_keeps, FLAGS_IN(0x8d4) "mov $-1, %rax; mov $1, %esi; adcx %rsi, %rax;" READ_BACK)
SNIPPET(adox_keeps, FLAGS_IN(0x0d5) "mov $-1, %rax; mov $1, %esi; adox %rsi, %rax;" READ_BACK)
SNIPPET(adcx_adox_chain, FLAGS_IN(0x801)
        "mov $-1, %rax; mov $-1, %rsi; mov $0, %edi; adcx %rdi, %rax; adox %rdi, %rsi;"
        "adcx %rax, %rax; adox %esi, %esi;" READ_BACK)
SNIPPET(lock_or_fence, FLAGS_IN(0x8d5) "push $0x10; lock orq $0, (%rsp); pop %rsi;" READ_BACK)

int main(void) {
  setup();
  RUN(mul_keeps, R(0));
  RUN(mul_keeps_clear, R(0));
  RUN(imul1, R(0));
  RUN(imul2, R(0));
  RUN(imul3, R(0));
  RUN(mul8, R(0));
  RUN(div64, R(0));
  RUN(idiv32, R(0));
  RUN(shl_af, R(0));
  RUN(shr_of_count2, R(0));
  RUN(rcl8_count9, R(0));
  RUN(shld16_count16, R(0));
  RUN(bsf_zero, R(0));
  RUN(bsr_value, R(0));
  RUN(tzcnt_all_set, R(0));
  RUN(tzcnt_zero, R(0));
  RUN(lzcnt_all_set, R(0));
  RUN(adcx_keeps, R(0));
  RUN(adox_keeps, R(0));
  RUN(adcx_adox_chain, R(0));
  RUN(lock_or_fence, R(0));
  return 0;
}
