// The state one difftest case starts from and ends in, in a form both sides can produce:
// the native child (from a signal frame's registers and FXSAVE image) and an engine (from
// CpuState). Keeping our own neutral struct, instead of comparing CpuState to CpuState, means
// the conversion to and from the native image is ours and not the code under test.
#pragma once

#include <cstdint>
#include <cstring>

#include "cpu/cpu_state.h"

namespace vireo::difftest {

// Guest addresses that are also the host addresses used by the native child, so that every
// pointer (base registers, RIP-relative operands, RIP itself) is identical on both sides.
// All of them sit below 2 GiB so that absolute [disp32] addressing reaches them.
inline constexpr uint64_t kCodeAddr = 0x4000'0000;     // test code, then ud2 as terminator
inline constexpr uint64_t kCodeSize = 0x1000;
inline constexpr uint64_t kScratchAddr = 0x4001'0000;  // random data for memory operands
inline constexpr uint64_t kScratchSize = 0x1000;
inline constexpr uint64_t kCtrlAddr = 0x3000'0000;     // native: loader's input block
inline constexpr uint64_t kCtrlSize = 0x2000;          // the block, then the loader's stack

// The arithmetic flags and DF: what difftest loads and compares in RFLAGS.
inline constexpr uint64_t kFlagsCompared = flag::ARITH | flag::DF;

struct CaseState {
  uint64_t gpr[16];
  uint64_t rip;
  uint64_t rflags;
  Xmm xmm[16];
  uint32_t mxcsr;
  uint16_t fcw;
  uint16_t fsw;        // with TOP in bits 11..13, as FNSTSW shows it
  uint8_t ftw_valid;   // FXSAVE's abridged tag: bit i = physical register i is not empty
  uint8_t st[8][10];   // ST(0)..ST(7) in stack order, 80-bit, as FXSAVE lays them out
  Xmm ymm_hi[16];      // bits 255:128 of YMM0..15 (the XSAVE AVX component)

  unsigned top() const { return (fsw >> 11) & 7; }
};

// FXSAVE image (SDM Vol. 1, 10.5.1, table 10-2) <-> CaseState's FP/SSE part.
inline void to_fxsave(const CaseState& s, uint8_t* img) {
  std::memset(img, 0, 512);
  std::memcpy(img + 0, &s.fcw, 2);
  std::memcpy(img + 2, &s.fsw, 2);
  img[4] = s.ftw_valid;
  std::memcpy(img + 24, &s.mxcsr, 4);
  uint32_t mask = 0xFFFF;
  std::memcpy(img + 28, &mask, 4);
  for (int i = 0; i < 8; ++i) std::memcpy(img + 32 + 16 * i, s.st[i], 10);
  for (int i = 0; i < 16; ++i) std::memcpy(img + 160 + 16 * i, &s.xmm[i], 16);
}

inline void from_fxsave(const uint8_t* img, CaseState& s) {
  std::memcpy(&s.fcw, img + 0, 2);
  std::memcpy(&s.fsw, img + 2, 2);
  s.ftw_valid = img[4];
  std::memcpy(&s.mxcsr, img + 24, 4);
  for (int i = 0; i < 8; ++i) std::memcpy(s.st[i], img + 32 + 16 * i, 10);
  for (int i = 0; i < 16; ++i) std::memcpy(&s.xmm[i], img + 160 + 16 * i, 16);
}

// CaseState <-> CpuState (the engine side). CpuState keeps x87 registers by physical index and
// TOP apart from FSW; FXSAVE keeps them by stack position.
inline void to_cpu(const CaseState& s, CpuState& c) {
  for (int i = 0; i < 16; ++i) c.gpr[i] = s.gpr[i];
  c.rip = s.rip;
  c.rflags = (c.rflags & ~kFlagsCompared) | (s.rflags & kFlagsCompared);
  for (int i = 0; i < 16; ++i) c.xmm[i] = s.xmm[i];
  for (int i = 0; i < 16; ++i) c.ymm_hi[i] = s.ymm_hi[i];
  c.mxcsr = s.mxcsr;
  c.x87.fcw = s.fcw;
  c.x87.top = uint8_t(s.top());
  c.x87.fsw = uint16_t(s.fsw & ~0x3800);
  c.x87.tag_empty = uint8_t(~s.ftw_valid);
  for (int i = 0; i < 8; ++i) {
    long double v = 0;
    std::memcpy(&v, s.st[i], 10);
    c.x87.st[(s.top() + i) & 7] = v;
  }
}

inline void from_cpu(const CpuState& c, CaseState& s) {
  std::memset(&s, 0, sizeof s);
  for (int i = 0; i < 16; ++i) s.gpr[i] = c.gpr[i];
  s.rip = c.rip;
  s.rflags = c.rflags;
  for (int i = 0; i < 16; ++i) s.xmm[i] = c.xmm[i];
  for (int i = 0; i < 16; ++i) s.ymm_hi[i] = c.ymm_hi[i];
  s.mxcsr = c.mxcsr;
  s.fcw = c.x87.fcw;
  s.fsw = uint16_t((c.x87.fsw & ~0x3800) | ((c.x87.top & 7) << 11));
  s.ftw_valid = uint8_t(~c.x87.tag_empty);
  for (int i = 0; i < 8; ++i) std::memcpy(s.st[i], &c.x87.st[(c.x87.top + i) & 7], 10);
}

// How a case ended, on either side.
enum class EndKind : uint8_t {
  Completed,  // ran to the terminator (ud2 at the end of the test code)
  Sigill,     // #UD
  Sigfpe,     // #DE, #MF, #XM
  Sigsegv,    // #GP, #PF, #SS
  Sigbus,     // #AC (and #SS on Linux)
  Sigtrap,
  Other,      // native child died, or an engine stop difftest does not expect
};
const char* end_name(EndKind k);

struct CaseResult {
  EndKind end;
  CaseState state;   // registers at the end (for faults: at the faulting instruction)
  uint64_t fault_addr;
  int detail;        // native: signal number when Other; engine: StopReason or vector
  // How Linux reports the end (random-code mode compares them): si_code, and the signal
  // frame's REG_TRAPNO and REG_ERR. The engine side models Linux (engine_runner.cpp).
  int si_code;
  uint64_t trapno, err;
  uint8_t scratch[kScratchSize];
};

}  // namespace vireo::difftest

namespace vireo::difftest {

// One case: the code to run (one instruction, or a sequence), the state it starts from and the
// scratch page's content. Identical input for the native child and the engine.
// The longest sequence: 200 instructions of up to 15 bytes and the ud2 fill 3,002 bytes of the
// one code page, and are three times the JIT's block limit (JitOptions::max_block_insns).
inline constexpr int kMaxInsns = 200;
inline constexpr size_t kMaxCode = kMaxInsns * 15 + 2;
static_assert(kMaxCode <= kCodeSize, "the code and its ud2 must fit the code page");
struct Case {
  uint8_t code[kMaxCode];
  uint32_t code_len;                  // without the ud2 terminator
  uint32_t ninsns;
  uint16_t insn_off[kMaxInsns + 1];   // start offset of each instruction, then code_len
  CaseState in;
  uint8_t scratch[kScratchSize];
};

}  // namespace vireo::difftest
