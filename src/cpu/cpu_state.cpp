#include "cpu/cpu_state.h"

#include <cstring>

namespace vireo {

void reset_user_state(CpuState& cpu) {
  std::memset(static_cast<void*>(&cpu), 0, sizeof cpu);
  cpu.rflags = flag::FIXED1 | flag::IF;
  // x86-64 psABI 3.4.1 / Linux start_thread: MXCSR = 0x1F80 (all exceptions masked,
  // round to nearest) and FCW = 0x37F (extended precision, all exceptions masked).
  cpu.mxcsr = 0x1F80;
  cpu.x87.fcw = 0x37F;
  cpu.x87.tag_empty = 0xFF;
  // 64-bit user code segment: L=1, DPL=3, present, code, readable.
  cpu.seg[SEG_CS] = {0x33, 0xA0FB, 0xFFFFFFFF, 0};
  cpu.seg[SEG_SS] = {0x2B, 0xC0F3, 0xFFFFFFFF, 0};
  cpu.efer = 0xD01;  // SCE | LME | LMA | NXE
  cpu.cr0 = 0x80050033;
  cpu.cr4 = 0x6A0;
}

}  // namespace vireo
