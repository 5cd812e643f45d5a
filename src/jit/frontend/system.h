// Frontend, system instructions (src/jit/frontend/system.cpp): the privileged and system-state
// instructions a kernel runs often, translated in system mode only.
#pragma once

#include <cstdint>

#include "jit/frontend/translator.h"

namespace vireo::jit {

// What a system-mode block is translated under, beyond its bytes (BlockLimits::system).
struct SystemContext {
  unsigned cpl = 0;                  // the block's privilege (part of its key)
  const uint64_t* tsc_aux = nullptr;  // IA32_TSC_AUX, which RDTSCP reads (the interpreter's SystemMode)
  // RDTSC/RDTSCP inline. Off under --check interp: the replay would read a later TSC.
  bool inline_tsc = true;
  // The engine's after-block word (SystemJitEngine::after_block_): what a translated STI or
  // POPFQ leaves for the dispatcher to do at the block's end, where the instruction count is
  // exact. Null: both stay interpreter fallbacks.
  uint32_t* after_block = nullptr;
  // POPFQ inline. Off under --check interp: a POPFQ that sets IF takes a pending interrupt at
  // once, which the replay would take too (the PIC acknowledged twice).
  bool inline_popf = true;
};

// The after-block word's bits.
constexpr uint32_t kAfterSti = 1;   // STI set IF (it was 0): open the one-instruction shadow
constexpr uint32_t kAfterPoll = 2;  // POPFQ set IF: take a pending interrupt now

// The user-mode forms of the instructions this file translates (rdtsc, rdtscp).
void register_frontend_system(FrontendTable& t);

// The system-mode translation of `in`'s mnemonic, or null (the user-mode table's, or an
// interpreter fallback). Each function returns false for a form it leaves to the interpreter.
FrontendFn system_frontend(const Insn& in);

}  // namespace vireo::jit
