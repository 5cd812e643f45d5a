// Helpers that translated code calls (the JIT's counterpart of QEMU's helper functions). Each
// runs with the guest state exact in CpuState (the backend writes it back first) and returns
// an ExitCode: kExitDispatch (0) to continue in the block, anything else to leave it.
#pragma once

#include <cstdint>

#include "cpu/cpu_state.h"
#include "jit/cache/translated_block.h"
#include "mem/guest_memory.h"

namespace vireo::jit {

// Runs one instruction in the interpreter (an Interpret op, or the slow path of a translated
// one), counted in --stats.
uint32_t fallback_helper(CpuState* cpu, FallbackInsn* f);

// A guest address outside the guest window (#PF) or a misaligned 16-byte SSE operand
// (#GP(0)). `how` = write flag | vector << 8.
uint32_t range_fault_helper(CpuState* cpu, uint64_t addr, uint64_t pc, uint64_t how);

// rep movs/stos (a RepString op): see rep_string.cpp.
uint32_t rep_string_helper(CpuState* cpu, FallbackInsn* f, const GuestMemory* mem);

}  // namespace vireo::jit
