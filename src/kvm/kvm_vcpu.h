// KvmVcpu: one vCPU fd and its shared kvm_run page, plus the conversion between Vireo's
// CpuState and KVM's kvm_regs/kvm_sregs/kvm_fpu, and a readable register dump for errors.
#pragma once

#include <linux/kvm.h>

#include <string>

#include "cpu/cpu_state.h"
#include "kvm/kvm_vm.h"

namespace vireo::kvm {

class KvmVcpu {
 public:
  KvmVcpu(KvmVm& vm, int index);
  ~KvmVcpu();
  KvmVcpu(const KvmVcpu&) = delete;
  KvmVcpu& operator=(const KvmVcpu&) = delete;

  kvm_run* run_area() const { return run_; }
  int fd() const { return fd_; }

  // Full state in (at start) and out (for a stop or a dump).
  void set_state(const CpuState& cpu);
  void get_state(CpuState& cpu) const;
  // Only GPRs, RIP and RFLAGS: cheap, what a HLT or port exit needs.
  void get_regs(CpuState& cpu) const;
  void inject_interrupt(int vector);
  // One model-specific register, through KVM_GET_MSRS.
  uint64_t get_msr(uint32_t index) const;
  // "rax=... rip=... cr0=..." lines describing the vCPU now.
  std::string register_dump() const;

 private:
  int fd_ = -1;
  kvm_run* run_ = nullptr;
  size_t run_size_ = 0;
};

}  // namespace vireo::kvm
