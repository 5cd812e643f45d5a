/* The data page ([vvar]) that Vireo fills and the guest's vDSO reads: enough to turn the guest's
 * rdtsc into CLOCK_MONOTONIC and CLOCK_REALTIME without a system call. Shared by the vDSO (C,
 * built for the guest) and Vireo (C++), so plain C. The page sits right below the vDSO image.
 *
 * time = base + ((rdtsc - tsc_base) * mult >> 32) nanoseconds, valid while `valid` is set and
 * rdtsc - tsc_base <= max_delta; otherwise the vDSO makes the system call, and Vireo re-bases
 * the page when it serves it (linux/vdso/vdso_mapping.cpp). */
#ifndef VIREO_VDSO_DATA_H
#define VIREO_VDSO_DATA_H

#include <stdint.h>

#define VIREO_VVAR_SIZE 4096

struct vireo_vdso_data {
  volatile uint32_t seq;   /* odd while Vireo updates the page */
  volatile uint32_t valid; /* 0 until the TSC rate is known: every call goes to the kernel */
  uint64_t tsc_base;
  uint64_t mult;           /* nanoseconds per TSC tick, as a 32.32 fixed-point number */
  uint64_t max_delta;      /* ticks after tsc_base past which the page is stale */
  int64_t mono_sec, mono_nsec;  /* CLOCK_MONOTONIC at tsc_base */
  int64_t real_sec, real_nsec;  /* CLOCK_REALTIME at tsc_base */
};

#endif
