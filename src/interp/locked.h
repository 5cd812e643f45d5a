// The private copy a locked read-modify-write works on (locked.cpp): Exec's slow-path loads
// and stores are served from it while `Exec::locked` points here.
#pragma once

#include <cstdint>

#include "mem/guest_memory.h"

namespace vireo {

struct Exec;

struct LockedAccess {
  GuestMemory mem;        // the real guest window
  unsigned size = 0;      // bytes of the memory operand
  bool active = false;    // the operand has been read
  uint64_t la = 0;        // its linear address
  uint8_t before[16], after[16];  // as read (locked), and as the instruction leaves it
  // Host pointer for an n-byte access at la: into `after` when inside the operand.
  uint8_t* at(Exec& x, uint64_t la, unsigned n, bool write);
};

}  // namespace vireo
