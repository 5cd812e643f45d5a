// The kvm engine's side of the debug interface (cpu/debug_target.h), through
// KVM_SET_GUEST_DEBUG: breakpoints and watchpoints in the guest debug registers that KVM
// keeps for the host (DR0-DR3, DR7; SDM Vol. 3, 18.2), single-step by KVM_GUESTDBG_SINGLESTEP.
// No int3 is written into guest memory (KVM_GUESTDBG_USE_SW_BP would need one), so at most
// four breakpoints and watchpoints together. While a debugger is attached the vCPU's state is
// copied into CpuState at every stop and back at the next run, so that gdb sees and changes it.
#include <errno.h>
#include <sys/ioctl.h>

#include <fmt/format.h>

#include <cstring>

#include "kvm/kvm_engine.h"

namespace vireo::kvm {

namespace {

// DR7 length field for a watch of `len` bytes (SDM Vol. 3, 18.2.5): 1, 2, 4 or 8, aligned.
std::optional<uint64_t> dr7_len(uint64_t addr, uint64_t len) {
  if (addr % len) return std::nullopt;
  switch (len) {
    case 1: return 0;
    case 2: return 1;
    case 4: return 3;
    case 8: return 2;
    default: return std::nullopt;
  }
}

}  // namespace

bool KvmEngine::set_debug(DebugControls* d, std::string* why) {
  kvm_guest_debug g{};
  if (d) {
    g.control = KVM_GUESTDBG_ENABLE;
    if (d->single_step) g.control |= KVM_GUESTDBG_SINGLESTEP;
    unsigned slot = 0;
    uint64_t dr7 = 0;
    auto fail = [&](const std::string& w) {
      if (why) *why = "kvm: " + w;
      return false;
    };
    if (d->breakpoints.size() + d->watchpoints.size() > 4)
      return fail("at most 4 breakpoints and watchpoints together (the debug registers)");
    for (uint64_t pc : d->breakpoints) {
      g.arch.debugreg[slot] = pc;
      dr7 |= uint64_t(1) << (2 * slot);  // L bit; R/W 00 (execute), LEN 00
      slots_[slot++] = {pc, 1, WatchKind::Write, false};
    }
    for (const Watchpoint& w : d->watchpoints) {
      auto len = dr7_len(w.addr, w.len);
      if (!len) return fail(fmt::format("a watchpoint must be 1, 2, 4 or 8 aligned bytes ({} at {:#x})", w.len, w.addr));
      // R/W: 01 write, 11 read or write (x86 has no read-only data breakpoint)
      uint64_t rw = w.kind == WatchKind::Write ? 1 : 3;
      g.arch.debugreg[slot] = w.addr;
      dr7 |= uint64_t(1) << (2 * slot) | rw << (16 + 4 * slot) | *len << (18 + 4 * slot);
      slots_[slot++] = {w.addr, w.len, w.kind, true};
    }
    if (slot) {
      g.control |= KVM_GUESTDBG_USE_HW_BP;
      g.arch.debugreg[7] = dr7 | 0x400;  // (bit 10 reads as 1)
    }
  }
  if (ioctl(vcpu_.fd(), KVM_SET_GUEST_DEBUG, &g) != 0) {
    if (why) *why = fmt::format("engine kvm cannot debug on this host: KVM_SET_GUEST_DEBUG failed: {}", std::strerror(errno));
    return false;
  }
  debug_ = d;
  return true;
}

// KVM_EXIT_DEBUG: DR6 says which debug register fired, or BS for a single-step.
StopReason KvmEngine::debug_exit(CpuState& cpu) {
  const auto& arch = vcpu_.run_area()->debug.arch;
  if (!debug_) return StopReason::ExitRequest;  // (a stale exit after the debugger left)
  debug_->event = DebugControls::Event::Step;
  for (unsigned i = 0; i < 4; ++i)
    if (arch.dr6 & (1u << i)) {
      if (slots_[i].watch) {
        debug_->event = DebugControls::Event::Watch;
        debug_->hit = {slots_[i].addr, slots_[i].len, slots_[i].kind};
      } else {
        debug_->event = DebugControls::Event::Breakpoint;
      }
      break;
    }
  return StopReason::Debug;
}

}  // namespace vireo::kvm
