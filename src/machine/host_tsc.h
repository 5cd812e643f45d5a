// The host's time-stamp counter against its monotonic clock. The guest's TSC is the host's
// (RDTSC plus the guest's IA32_TSC offset, interp/system/control_regs.cpp), so the frequency
// a paravirtual clock reports to the guest (kvmclock) is the host's TSC frequency.
#pragma once

#include <cstdint>

namespace vireo::machine {

// One reading of both clocks, taken as close together as the host allows.
struct TscSample {
  uint64_t tsc, ns;  // RDTSC; CLOCK_MONOTONIC in nanoseconds
};
TscSample sample_tsc();

// Measures the TSC rate between `start` and now, waiting until at least `min_ns` have passed
// (a 20 ms span puts the error of one clock_gettime, well under a microsecond, below 50 ppm).
// Cycles per second.
uint64_t tsc_hz_since(const TscSample& start, uint64_t min_ns = 20'000'000);

}  // namespace vireo::machine
