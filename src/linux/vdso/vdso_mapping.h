// The guest's vDSO and its data page, and the legacy vsyscall page.
//
// map_vdso() maps [vvar] (one page, read-only for the guest) and [vdso] (the image built from
// vdso.c) side by side in the mmap area, as Linux does at exec, and returns the vDSO's address
// for AT_SYSINFO_EHDR. The data page is a memfd mapped twice: read-only in the guest window
// and writable for Vireo, which re-bases it in vdso_refresh() whenever the guest's vDSO falls
// back to the clock_gettime system call (not calibrated yet, or the base older than ~1 s).
// The vsyscall page is in vsyscall.h.
#pragma once

#include <cstdint>

#include "mem/address_space.h"

namespace vireo {

uint64_t map_vdso(AddressSpace& as);
// Called by the clock_gettime system call: refreshes the data page. `tsc_offset` is what the
// engines add to the host TSC for the guest's rdtsc.
void vdso_refresh(uint64_t tsc_offset);

}  // namespace vireo
