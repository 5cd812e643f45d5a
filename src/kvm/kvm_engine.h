// KvmEngine: runs the guest under /dev/kvm. KVM_RUN until a vmexit, then dispatch it: port
// I/O and MMIO go to the machine's SystemBus right here (the fast path: no register sync);
// HLT, host-signal interrupts and stop requests return to the platform loop; SHUTDOWN,
// FAIL_ENTRY and INTERNAL_ERROR throw KvmError with a cause and a register dump. Interrupts
// come from the machine's PIC, not from KVM's in-kernel irqchip, so interp, jit and kvm see
// the same devices.
//
// State contract: the first run() loads the CpuState into the vCPU; from then on the vCPU
// holds the truth, and run() copies GPRs/RIP/RFLAGS back when it returns Hlt.
#pragma once

#include <cstdint>
#include <optional>

#include "cpu/engine.h"
#include "kvm/kvm_exit_stats.h"
#include "kvm/kvm_vcpu.h"
#include "kvm/kvm_vm.h"
#include "machine/system_bus.h"

namespace vireo::kvm {

// True when the host's KVM is the PVM back end, which cannot deliver interrupts and exceptions
// to a guest that is not PVM-aware (docs/system-mode.md, "PVM hosts").
bool pvm_back_end_loaded();

class KvmEngine : public Engine {
 public:
  // Registers [0, ram_size) of guest-physical memory at `ram` and creates vCPU 0.
  KvmEngine(machine::SystemBus& bus, uint8_t* ram, uint64_t ram_size);
  StopReason run(CpuState& cpu) override;
  const char* name() const override { return "kvm"; }
  void print_stats(std::FILE* out, double seconds) const override { stats_.print(out, seconds); }
  const KvmExitStats& stats() const { return stats_; }
  bool set_debug(DebugControls* d, std::string* why = nullptr) override;  // (kvm_debug.cpp)

 private:
  void handle_io();
  void handle_mmio();
  [[noreturn]] void fail_internal_error(bool injected);
  [[noreturn]] void fail_shutdown();

  machine::SystemBus& bus_;
  KvmVm vm_;
  KvmVcpu vcpu_;
  bool loaded_ = false;
  // A debugger's controls (kvm_debug.cpp), and what each debug register watches.
  DebugControls* debug_ = nullptr;
  struct Slot {
    uint64_t addr, len;
    WatchKind kind;
    bool watch;
  };
  Slot slots_[4] = {};
  StopReason debug_exit(CpuState& cpu);
  StopReason run_vcpu(CpuState& cpu);
  KvmExitStats stats_;
};

}  // namespace vireo::kvm
