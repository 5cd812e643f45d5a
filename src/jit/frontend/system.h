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
};

// The system-mode translation of `in`'s mnemonic, or null (the user-mode table's, or an
// interpreter fallback). Each function returns false for a form it leaves to the interpreter.
FrontendFn system_frontend(const Insn& in);

}  // namespace vireo::jit
