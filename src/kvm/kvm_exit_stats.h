// KvmExitStats: what `--stats` reports for the kvm engine — vmexits by reason and by I/O
// port, interrupts injected, and time spent inside KVM_RUN (the guest, plus the host kernel's
// own exit handling) against time in Vireo's monitor, the way a VMCS records VM_EXIT_REASON.
#pragma once

#include <cstdint>
#include <cstdio>
#include <vector>

namespace vireo::kvm {

struct KvmExitStats {
  static constexpr int kReasons = 64;
  uint64_t by_reason[kReasons] = {};
  uint64_t signal_exits = 0;  // KVM_RUN interrupted by a host signal (timer deadlines)
  std::vector<uint64_t> port_in = std::vector<uint64_t>(65536), port_out = std::vector<uint64_t>(65536);
  uint64_t mmio = 0;
  uint64_t injected = 0;
  uint64_t guest_ns = 0;  // inside KVM_RUN

  void count(uint32_t reason) { ++by_reason[reason < kReasons ? reason : kReasons - 1]; }
  uint64_t total() const;
  void print(std::FILE* out, double wall_seconds) const;
};

const char* exit_reason_name(uint32_t reason);

}  // namespace vireo::kvm
