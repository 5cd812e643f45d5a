// Issue 21, item 9: 0F 1A /r and 0F 1B /r without MPX are hint NOPs: nothing is accessed,
// whatever the prefix (bndldx, bndstx, bndmk, bndcl, bndcu, bndcn, bndmov without MPX); and
// CLDEMOTE's encoding without CLDEMOTE.
#include "harness.h"

SNIPPET(hint_0f1a_mem, ".byte 0x0f, 0x1a, 0x00; mov $1, %ebx")
SNIPPET(hint_0f1b_mem, ".byte 0x0f, 0x1b, 0x00; mov $1, %ebx")
SNIPPET(hint_f3_0f1b, ".byte 0xf3, 0x0f, 0x1b, 0x00; mov $1, %ebx")
SNIPPET(hint_f2_0f1a, ".byte 0xf2, 0x0f, 0x1a, 0x00; mov $1, %ebx")
SNIPPET(hint_66_0f1a_reg, ".byte 0x66, 0x0f, 0x1a, 0xc1; mov $1, %ebx")
SNIPPET(hint_0f1a_reg7, ".byte 0x0f, 0x1a, 0xf8; mov $1, %ebx")
SNIPPET(hint_66_0f1b_sib, ".byte 0x66, 0x0f, 0x1b, 0x44, 0x88, 0x10; mov $1, %ebx")
SNIPPET(hint_rex_0f1b, ".byte 0x4d, 0x0f, 0x1b, 0xff; mov $1, %ebx")
// CLDEMOTE (0F 1C /0), which our CPUID does not advertise, is a hint NOP too: nothing accessed.
SNIPPET(cldemote_hole, ".byte 0x0f, 0x1c, 0x00; mov $1, %ebx")

int main(void) {
  setup();
  struct regs r = R(.gpr = {[RAX] = (uint64_t)HOLE, [RCX] = 0x8000000000000000});
  RUN(hint_0f1a_mem, r);
  RUN(hint_0f1b_mem, r);
  RUN(hint_f3_0f1b, r);
  RUN(hint_f2_0f1a, r);
  RUN(hint_66_0f1a_reg, r);
  RUN(hint_0f1a_reg7, r);
  RUN(hint_66_0f1b_sib, r);
  RUN(hint_rex_0f1b, r);
  RUN(cldemote_hole, r);
  return 0;
}
