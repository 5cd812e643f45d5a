// An indirect call's likely target, from the guest state the block is translated to start
// with (call_guess.cpp).
#pragma once

#include <cstdint>

#include "jit/ir/ir.h"
#include "mem/guest_memory.h"

namespace vireo {
struct CpuState;
}

namespace vireo::jit {

// The value `target` (an IR value of `block` so far) has when the block starts in state
// `entry`, when it is a register or one load at registers plus constants; else 0.
uint64_t guess_call_target(const GuestMemory& mem, const CpuState& entry, const ir::Block& block, ir::Value target);

// The guessed calls of a translated block (its ExitIfs marked ir::kGuessMissExit), for --stats.
uint32_t count_guessed_calls(const ir::Block& block);

}  // namespace vireo::jit
