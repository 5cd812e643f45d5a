#include "kvm/kvm_exit_stats.h"

#include <linux/kvm.h>

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace vireo::kvm {

const char* exit_reason_name(uint32_t reason) {
  switch (reason) {
    case KVM_EXIT_UNKNOWN: return "UNKNOWN";
    case KVM_EXIT_EXCEPTION: return "EXCEPTION";
    case KVM_EXIT_IO: return "IO";
    case KVM_EXIT_HYPERCALL: return "HYPERCALL";
    case KVM_EXIT_DEBUG: return "DEBUG";
    case KVM_EXIT_HLT: return "HLT";
    case KVM_EXIT_MMIO: return "MMIO";
    case KVM_EXIT_IRQ_WINDOW_OPEN: return "IRQ_WINDOW_OPEN";
    case KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
    case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
    case KVM_EXIT_INTR: return "INTR";
    case KVM_EXIT_SET_TPR: return "SET_TPR";
    case KVM_EXIT_TPR_ACCESS: return "TPR_ACCESS";
    case KVM_EXIT_NMI: return "NMI";
    case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
    case KVM_EXIT_SYSTEM_EVENT: return "SYSTEM_EVENT";
    case KVM_EXIT_X86_RDMSR: return "X86_RDMSR";
    case KVM_EXIT_X86_WRMSR: return "X86_WRMSR";
  }
  return "OTHER";
}

uint64_t KvmExitStats::total() const {
  uint64_t t = signal_exits;
  for (uint64_t n : by_reason) t += n;
  return t;
}

void KvmExitStats::print(std::FILE* out, double wall) const {
  double guest = double(guest_ns) / 1e9;
  double monitor = wall > guest ? wall - guest : 0;
  uint64_t n = total();
  fmt::print(out, "kvm: {} vmexits in {:.3f} s: {:.3f} s in the guest (KVM_RUN), {:.3f} s in the monitor\n", n, wall,
             guest, monitor);
  if (n) fmt::print(out, "kvm: {:.0f} exits/s, {:.2f} us per exit round trip\n", double(n) / wall, wall * 1e6 / double(n));
  fmt::print(out, "kvm: exits by reason:\n");
  for (int r = 0; r < kReasons; ++r)
    if (by_reason[r]) fmt::print(out, "  {:<16} {:>12}\n", exit_reason_name(uint32_t(r)), by_reason[r]);
  if (signal_exits) fmt::print(out, "  {:<16} {:>12}  (host timer signal interrupted KVM_RUN)\n", "SIGNAL", signal_exits);
  std::vector<std::pair<uint64_t, int>> ports;  // (count, port*2 + is_out)
  for (int p = 0; p < 65536; ++p) {
    if (port_in[size_t(p)]) ports.emplace_back(port_in[size_t(p)], p * 2);
    if (port_out[size_t(p)]) ports.emplace_back(port_out[size_t(p)], p * 2 + 1);
  }
  std::sort(ports.begin(), ports.end(), [](auto& a, auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  if (!ports.empty()) fmt::print(out, "kvm: I/O exits by port:\n");
  for (size_t i = 0; i < ports.size() && i < 16; ++i)
    fmt::print(out, "  {:<4} {:#06x} {:>12}\n", ports[i].second & 1 ? "out" : "in", ports[i].second >> 1, ports[i].first);
  if (mmio) fmt::print(out, "kvm: MMIO exits: {}\n", mmio);
  fmt::print(out, "kvm: interrupts injected: {}\n", injected);
}

}  // namespace vireo::kvm
