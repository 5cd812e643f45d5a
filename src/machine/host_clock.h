// The monotonic host clock that drives the board's timers, in nanoseconds.
#pragma once

#include <cstdint>
#include <ctime>

namespace vireo::machine {

inline uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

}  // namespace vireo::machine
