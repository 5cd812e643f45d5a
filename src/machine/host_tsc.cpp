#include "machine/host_tsc.h"

#include <x86intrin.h>

#include <ctime>

#include "machine/host_clock.h"

namespace vireo::machine {

TscSample sample_tsc() {
  // The TSC read on each side of clock_gettime: the pair with the shortest gap of three
  // (an interrupt or preemption in between would skew one sample by microseconds).
  TscSample best{0, 0};
  uint64_t best_gap = ~uint64_t(0);
  for (int i = 0; i < 3; ++i) {
    const uint64_t a = __rdtsc();
    const uint64_t ns = monotonic_ns();
    const uint64_t b = __rdtsc();
    if (b - a < best_gap) {
      best_gap = b - a;
      best = {a + (b - a) / 2, ns};
    }
  }
  return best;
}

uint64_t tsc_hz_since(const TscSample& start, uint64_t min_ns) {
  TscSample now = sample_tsc();
  if (now.ns - start.ns < min_ns) {
    const uint64_t wait = min_ns - (now.ns - start.ns);
    timespec ts{time_t(wait / 1000000000u), long(wait % 1000000000u)};
    nanosleep(&ts, nullptr);
    now = sample_tsc();
  }
  const unsigned __int128 cycles = now.tsc - start.tsc;
  return uint64_t(cycles * 1000000000u / (now.ns - start.ns));
}

}  // namespace vireo::machine
