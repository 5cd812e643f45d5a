// Issue 21, item 3: enter probes the bottom of the new frame (a #PF write there when it is
// not mapped); 66h enter/leave push and pop 2 bytes and load only BP.
#include "harness.h"

SNIPPET(enter_plain, "enter $0x20, $0")
SNIPPET(enter_nested, "enter $0x10, $3")
SNIPPET(enter_level1, "enter $0x8, $1")
SNIPPET(enterw, "enterw $0x10, $0")
SNIPPET(enterw_nested, "enterw $0x4, $2")
SNIPPET(leavew, "leavew")
SNIPPET(enter_frame_below_stack, "enter $0x1000, $0")
SNIPPET(enter_frame_far_below, "enter $0xfff0, $0")

int main(void) {
  setup();
  RUN(enter_plain, R(.gpr = {[RBP] = 0x1234}));
  RUN(enter_nested, R(.gpr = {[RBP] = 0x50019000}));
  RUN(enter_level1, R(.gpr = {[RBP] = 0x50019000}));
  RUN(enterw, R(.gpr = {[RBP] = 0x1111222233334444}));
  RUN(enterw_nested, R(.gpr = {[RBP] = 0x50019000}));
  RUN(leavew, R(.gpr = {[RBP] = 0x50019000}));
  RUN(enter_frame_below_stack, R(.gpr = {[RSP] = 0x50010100}));
  RUN(enter_frame_far_below, R(.gpr = {[RSP] = 0x50010100}));
  return 0;
}
