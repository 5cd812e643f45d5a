// GuestMemory: how engines reach guest memory.
//
// User mode: guest virtual address A lives at host address base + A, for A < limit. The whole
// window [base, base + limit) is reserved PROT_NONE at start-up, so a guest access anywhere in
// it either hits a real guest mapping or faults on the host; the host SIGSEGV is turned into a
// guest fault by the engine (see host_fault.h). Addresses at or past `limit` are rejected
// before any host access, so a wild guest pointer can never touch Vireo's own memory.
// On each side of the window, `guard` more bytes are reserved PROT_NONE too: an access that
// starts below `limit` and runs past it faults there (a guest fault at that address), one
// that wraps below address 0 faults at base - x (the guest address 2^64 - x), and the JIT
// checks one address of a run of accesses at small displacements from the same base (see
// the x64 emitter's guest_access).
#pragma once

#include <cstdint>

namespace vireo {

class AddressSpace;

struct GuestMemory {
  uint8_t* base = nullptr;
  uint64_t limit = 0;
  // Bytes reserved PROT_NONE at [base - guard, base) and [base + limit, base + limit + guard).
  uint64_t guard = 0;
  // User mode: the address space behind the window, for engines that need the guest's own
  // page protection (the JIT write-protects pages holding translated code). Null otherwise.
  const AddressSpace* space = nullptr;

  bool contains(uint64_t addr, uint64_t len) const {
    return addr < limit && len <= limit - addr;
  }
  uint8_t* host(uint64_t addr) const { return base + addr; }
};

}  // namespace vireo
