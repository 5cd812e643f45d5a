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
// 0F 0D is the prefetch group: every memory form is a prefetch (PREFETCHWT1's /2 too, without
// it), a register form is #UD.
SNIPPET(prefetch_group_2, ".byte 0x0f, 0x0d, 0x10; mov $1, %ebx")
SNIPPET(prefetch_group_reg, ".byte 0x0f, 0x0d, 0xc3; mov $1, %ebx")
// F3 REX.B 90 is xchg r8, rax, not pause.
SNIPPET(pause_rex_b, ".byte 0xf3, 0x49, 0x90; mov $1, %ebx")

int main(void) {
  setup();
  struct regs r = R(.gpr = {[RAX] = (uint64_t)HOLE, [RCX] = 0x8000000000000000, [8] = 0x1234});
  RUN(hint_0f1a_mem, r);
  RUN(hint_0f1b_mem, r);
  RUN(hint_f3_0f1b, r);
  RUN(hint_f2_0f1a, r);
  RUN(hint_66_0f1a_reg, r);
  RUN(hint_0f1a_reg7, r);
  RUN(hint_66_0f1b_sib, r);
  RUN(hint_rex_0f1b, r);
  RUN(cldemote_hole, r);
  RUN(prefetch_group_2, r);
  RUN(prefetch_group_reg, r);
  RUN(pause_rex_b, r);
  return 0;
}
