// Issue 21, item 4: int1 (F1) is a #DB trap (SIGTRAP), sysexit at CPL 3 is #GP (SIGSEGV);
// int n through a DPL-0 gate is #GP(n*8+2), int $3 and int $4 are traps.
#include "harness.h"

SNIPPET(int1, "mov $1, %eax; .byte 0xf1; mov $2, %eax")
SNIPPET(sysexit, "sysexit")
SNIPPET(sysexitq, "sysexitq")
SNIPPET(int_0x41, "int $0x41")
SNIPPET(int_0x0d, "int $0x0d")
SNIPPET(int_3_long_form, ".byte 0xcd, 0x03; mov $2, %eax")
SNIPPET(int_4, "int $4; mov $2, %eax")
SNIPPET(int3, "int3; mov $2, %eax")

int main(void) {
  setup();
  RUN(int1, R(0));
  RUN(sysexit, R(0));
  RUN(sysexitq, R(0));
  RUN(int_0x41, R(0));
  RUN(int_0x0d, R(0));
  RUN(int_3_long_form, R(0));
  RUN(int_4, R(0));
  RUN(int3, R(0));
  return 0;
}
