// The exception a failed guest memory access raises, as the hardware reports it (issue 21,
// items 6 and 7). Shared by the interpreter and the jit, which both find out about a failed
// access late (a host fault, an address outside the guest window) and know only the address.
#pragma once

#include <cstdint>

#include "cpu/cpu_state.h"
#include "mem/guest_memory.h"

namespace vireo {

// Page-fault error code bits (SDM Vol. 3, 4.7).
namespace pf {
inline constexpr uint32_t P = 1;      // protection violation (the page was present)
inline constexpr uint32_t W = 2;      // write access
inline constexpr uint32_t U = 4;      // user-mode access (always, in user mode)
inline constexpr uint32_t I = 0x10;   // instruction fetch
}  // namespace pf

// The fault of an access at `addr` by the instruction at cpu.rip (registers as before it),
// `hw` holding what is known of the error code (P, W, I). Refines it as the hardware does:
//  * a non-canonical address is not a page fault: #GP(0), or #SS(0) when the access uses the
//    stack segment (an RSP/RBP-based operand, push/pop/call/ret/enter/leave);
//  * a read-modify-write instruction whose read faults reports a write (the access is made
//    with write intent);
//  * U is always set.
FaultInfo memory_fault(const CpuState& cpu, const GuestMemory& mem, uint64_t addr, uint32_t hw);

}  // namespace vireo
