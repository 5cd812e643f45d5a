// Helpers that translated code calls (the JIT's counterpart of QEMU's helper functions). Each
// runs with the guest state exact in CpuState (the backend writes it back first) and returns
// an ExitCode: kExitDispatch (0) to continue in the block, anything else to leave it.
#pragma once

#include <Zydis/Mnemonic.h>

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

// What the range_fault trampoline saves (Trampolines::range_fault).
struct RangeFaultFrame {
  uint64_t regs[16];  // host registers in encoding order (rsp's slot unused; r11 = the access)
  alignas(16) uint8_t xmm[16][16];
  uint32_t mxcsr;
  uint32_t pad[3];
  uint8_t ymm_hi[16][16];  // their upper halves (on a host with AVX; a loop of VEX ops keeps guest ones there)
};

// A guest address outside the guest window at a translated access: recorded in the current
// fault scope as a host fault at the access (host pc in r11), as if the host had faulted
// there, and left by siglongjmp. The engine then rebuilds the guest state from the access's
// sync record and raises the guest's fault (interp/memory_fault.h), as for any host fault.
[[noreturn]] void range_fault_unwind(const RangeFaultFrame* frame, uint64_t addr, uint64_t write);

// rep movs/stos (a RepString op): see rep_string.cpp.
uint32_t rep_string_helper(CpuState* cpu, FallbackInsn* f, const GuestMemory* mem);
// Whether a RepString op's instruction (its Zydis mnemonic) writes the flags: cmps and scas.
// rep_string_helper settles CpuState's lazy flags for those only.
inline bool rep_writes_flags(unsigned mnemonic) {
  switch (mnemonic) {
    case ZYDIS_MNEMONIC_MOVSB: case ZYDIS_MNEMONIC_MOVSW: case ZYDIS_MNEMONIC_MOVSD: case ZYDIS_MNEMONIC_MOVSQ:
    case ZYDIS_MNEMONIC_STOSB: case ZYDIS_MNEMONIC_STOSW: case ZYDIS_MNEMONIC_STOSD: case ZYDIS_MNEMONIC_STOSQ:
      return false;
    default: return true;  // cmps, scas (and anything else: it goes to the interpreter, which settles)
  }
}

}  // namespace vireo::jit
