// Issue 21, item 8: the x87 environment as fnstenv/fnsave store it (the FCS and FDS fields
// after fninit and after an x87 instruction), and the 16-bit (66h) forms of fnstenv, fldenv,
// fnsave and frstor with their 14- and 94-byte layouts.
#include "harness.h"

SNIPPET(fnstenv_after_fninit, "fninit; fnstenv (%rdi)")
SNIPPET(fnsave_after_fninit, "fninit; fnsave (%rdi)")
SNIPPET(fnstenv_after_fld, "fninit; fld1; fldpi; fstps 64(%rdi); fnstenv (%rdi)")
SNIPPET(fnsave_after_fld, "fninit; fld1; fldl2t; fnsave (%rdi); fnstenv 128(%rdi)")
SNIPPET(fnstenv_16, "fninit; fld1; fldz; data16 fnstenv (%rdi)")
SNIPPET(fnsave_16, "fninit; fld1; fldz; data16 fnsave (%rdi)")
SNIPPET(fldenv_16,
        "fninit; movw $0x27f, (%rdi); movw $0x3800, 2(%rdi); movw $0x3fff, 4(%rdi);"
        "data16 fldenv (%rdi); fnstenv 32(%rdi)")
SNIPPET(frstor_16,
        "fninit; fld1; fldpi; data16 fnsave (%rdi); data16 frstor (%rdi); fstpt 128(%rdi);"
        "fstpt 144(%rdi); fnstenv 160(%rdi)")

int main(void) {
  setup();
  struct regs r = R(.gpr = {[RDI] = (uint64_t)DATA + 0x100});
  RUN(fnstenv_after_fninit, r);
  dump("env", DATA + 0x100, 28);
  RUN(fnsave_after_fninit, r);
  dump("env", DATA + 0x100, 28);
  RUN(fnstenv_after_fld, r);
  dump("env", DATA + 0x100, 28);
  RUN(fnsave_after_fld, r);
  dump("save", DATA + 0x100, 108);
  dump("env after", DATA + 0x180, 28);
  RUN(fnstenv_16, r);
  dump("env16", DATA + 0x100, 16);
  RUN(fnsave_16, r);
  dump("save16", DATA + 0x100, 96);
  RUN(fldenv_16, r);
  dump("env", DATA + 0x120, 28);
  RUN(frstor_16, r);
  dump("st0 st1 env", DATA + 0x180, 60);
  return 0;
}
