// The guest's vDSO and its data page, and the legacy vsyscall page.
//
// map_vdso() maps [vvar] (one page, read-only for the guest) and [vdso] (the image built from
// vdso.c) side by side in the mmap area, as Linux does at exec, and returns the vDSO's address
// for AT_SYSINFO_EHDR. The data page is a memfd mapped twice: read-only in the guest window
// and writable for Vireo, which re-bases it in vdso_refresh() whenever the guest's vDSO falls
// back to the clock_gettime system call (not calibrated yet, or the base older than ~1 s).
#pragma once

#include <cstdint>

#include "mem/address_space.h"

namespace vireo {

uint64_t map_vdso(AddressSpace& as);
// Called by the clock_gettime system call: refreshes the data page. `tsc_offset` is what the
// engines add to the host TSC for the guest's rdtsc.
void vdso_refresh(uint64_t tsc_offset);

// Legacy vsyscall page (emulated mode, as Linux's vsyscall=emulate): a guest call to one of its
// three entry points becomes the system call it names.
inline constexpr uint64_t kVsyscallPage = 0xffffffffff600000;
// The system call number for a call at `pc`, or -1 if `pc` is not an entry point.
inline long vsyscall_number(uint64_t pc) {
  switch (pc - kVsyscallPage) {
    case 0x000: return 96;   // gettimeofday
    case 0x400: return 201;  // time
    case 0x800: return 309;  // getcpu
    default: return -1;
  }
}

}  // namespace vireo
