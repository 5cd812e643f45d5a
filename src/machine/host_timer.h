// HostTimer: a host interval timer that makes a running engine return to the platform when
// the board has a deadline (a PIT edge, host input to poll), by setting CpuState::exit_request
// from SIGALRM. Under kvm the same signal interrupts KVM_RUN.
//
// After the first expiry it keeps firing every millisecond until re-armed, so a signal that
// lands just before an engine checks exit_request costs at most one extra millisecond.
#pragma once

#include <cstdint>
#include <optional>

#include "cpu/cpu_state.h"

namespace vireo::machine {

class HostTimer {
 public:
  explicit HostTimer(CpuState& cpu);
  ~HostTimer();
  // Arms for `deadline_ns` on the monotonic clock, or disarms for nullopt; cheap when unchanged.
  void arm(std::optional<uint64_t> deadline_ns);

 private:
  std::optional<uint64_t> armed_;
};

}  // namespace vireo::machine
