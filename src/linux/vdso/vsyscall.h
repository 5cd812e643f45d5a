// The legacy vsyscall page at 0xffffffffff600000, as Linux's vsyscall=emulate mode provides it:
// a call to one of its three entry points performs the system call it names and returns to the
// caller. The page lies outside the guest window, so there is nothing to map: an engine that is
// asked to fetch code there hands the call to the interpreter, whose fetch turns it into that
// system call (interp/interpreter.cpp).
#pragma once

#include <cstdint>

namespace vireo {

inline constexpr uint64_t kVsyscallPage = 0xffffffffff600000;

inline bool in_vsyscall_page(uint64_t pc) { return pc - kVsyscallPage < 4096; }

// The system call for a call at `pc`, or -1 if `pc` is not an entry point
// (arch/x86/entry/vsyscall/vsyscall_64.c, addr_to_vsyscall_nr).
inline long vsyscall_number(uint64_t pc) {
  switch (pc - kVsyscallPage) {
    case 0x000: return 96;   // gettimeofday
    case 0x400: return 201;  // time
    case 0x800: return 309;  // getcpu
    default: return -1;
  }
}

}  // namespace vireo
