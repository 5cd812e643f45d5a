// The XSAVE area (SDM Vol. 1, chapter 13): building and loading it from CpuState, shared by the
// XSAVE family of instructions (xsave.cpp) and the Linux signal frame (linux/signal_frame.cpp).
#pragma once

#include <cstdint>

#include "cpu/cpu_state.h"

namespace vireo::xsave {

// XINUSE: the components not in their initial configuration (SDM Vol. 1, 13.6). Tracked
// exactly: x87 at its FNINIT/reset values, SSE with every XMM zero and MXCSR 1F80H, AVX with
// every upper half zero. (Hardware may report a component in use when it is not; never the
// reverse, so this is a valid implementation.)
uint64_t in_use(const CpuState& c);

enum class Form : uint8_t { Standard, Optimized, Compacted };  // xsave, xsaveopt, xsavec

// Writes the components in `rfbm` into `area` as the instruction of `form` would; `area` holds
// the bytes already in memory (what an instruction leaves alone stays). `ptr64`: the REX.W
// layout of FIP/FDP. Returns the bytes the area spans.
unsigned save(const CpuState& c, uint8_t* area, uint64_t rfbm, Form form, bool ptr64);

// Loads the components in `rfbm` from `area` (XRSTOR, standard or compacted by XCOMP_BV[63]).
// False, leaving `c` unchanged, where XRSTOR raises #GP: a header that XCR0 does not allow,
// reserved header bytes, an illegal MXCSR.
bool restore(CpuState& c, const uint8_t* area, uint64_t rfbm, bool ptr64);

// The bytes XRSTOR reads for this header (standard: up to the last component of rfbm;
// compacted: the components of XCOMP_BV).
unsigned restore_size(const uint8_t* header, uint64_t rfbm);

// Puts the components in `mask` in their initial configuration.
void init_components(CpuState& c, uint64_t mask);

}  // namespace vireo::xsave
