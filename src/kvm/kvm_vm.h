// KvmVm: the /dev/kvm system fd and one VM fd — capability checks, guest RAM as memory slots,
// and the host's supported CPUID, which every vCPU is given.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace vireo::kvm {

class KvmVm {
 public:
  // Throws KvmUnavailable when /dev/kvm is missing, not accessible or too old.
  KvmVm();
  ~KvmVm();
  KvmVm(const KvmVm&) = delete;
  KvmVm& operator=(const KvmVm&) = delete;

  // Maps [gpa, gpa+size) of guest-physical memory onto host memory at `host`.
  void add_ram(uint64_t gpa, uint64_t size, void* host);
  int vm_fd() const { return vm_fd_; }
  int vcpu_mmap_size() const { return vcpu_mmap_size_; }
  const std::vector<kvm_cpuid_entry2>& supported_cpuid() const { return cpuid_; }
  bool has_extension(long cap) const;

 private:
  int kvm_fd_ = -1;
  int vm_fd_ = -1;
  int vcpu_mmap_size_ = 0;
  uint32_t next_slot_ = 0;
  std::vector<kvm_cpuid_entry2> cpuid_;
};

}  // namespace vireo::kvm
