#include "kvm/kvm_vm.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "kvm/kvm_cpuid_abi.h"
#include "kvm/kvm_error.h"

namespace vireo::kvm {

namespace {
std::string errno_text() { return std::strerror(errno); }
}  // namespace

KvmVm::KvmVm() {
  kvm_fd_ = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm_fd_ < 0) {
    int e = errno;
    const char* hint = e == ENOENT ? " (no KVM on this host: is the kvm module loaded, or is this a VM without nested virtualization?)"
                       : (e == EACCES || e == EPERM) ? " (no permission: add yourself to the 'kvm' group)"
                                                     : "";
    throw KvmUnavailable(fmt::format("cannot use KVM: /dev/kvm: {}{}", std::strerror(e), hint));
  }
  int api = ioctl(kvm_fd_, KVM_GET_API_VERSION, 0);
  if (api != KVM_API_VERSION)
    throw KvmUnavailable(fmt::format("cannot use KVM: /dev/kvm speaks API version {}, Vireo needs {}", api, KVM_API_VERSION));
  vm_fd_ = ioctl(kvm_fd_, KVM_CREATE_VM, 0);
  if (vm_fd_ < 0) throw KvmUnavailable("cannot use KVM: KVM_CREATE_VM failed: " + errno_text());
  vcpu_mmap_size_ = ioctl(kvm_fd_, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (vcpu_mmap_size_ <= 0) throw KvmUnavailable("cannot use KVM: KVM_GET_VCPU_MMAP_SIZE failed: " + errno_text());
  // Intel needs a TSS region for real-mode emulation; harmless elsewhere, refused by some
  // back ends (then nothing depends on it, as guests start in protected mode).
  (void)ioctl(vm_fd_, KVM_SET_TSS_ADDR, 0xFFFBD000ul);

  // The supported CPUID, so the guest sees long mode, SSE and friends. Grow until it fits.
  for (int n = 64; n <= 4096; n *= 2) {
    std::vector<uint8_t> buf = cpuid2_buffer(uint32_t(n));
    if (ioctl(kvm_fd_, kIoctlGetSupportedCpuid, buf.data()) == 0) {
      cpuid_.assign(cpuid2_entries(buf), cpuid2_entries(buf) + cpuid2_count(buf));
      break;
    }
    if (errno != E2BIG) throw KvmUnavailable("cannot use KVM: KVM_GET_SUPPORTED_CPUID failed: " + errno_text());
  }
}

KvmVm::~KvmVm() {
  if (vm_fd_ >= 0) close(vm_fd_);
  if (kvm_fd_ >= 0) close(kvm_fd_);
}

bool KvmVm::has_extension(long cap) const { return ioctl(kvm_fd_, KVM_CHECK_EXTENSION, cap) > 0; }

void KvmVm::add_ram(uint64_t gpa, uint64_t size, void* host) {
  kvm_userspace_memory_region r{};
  r.slot = next_slot_++;
  r.guest_phys_addr = gpa;
  r.memory_size = size;
  r.userspace_addr = reinterpret_cast<uint64_t>(host);
  if (ioctl(vm_fd_, KVM_SET_USER_MEMORY_REGION, &r) < 0)
    throw KvmError(fmt::format("KVM_SET_USER_MEMORY_REGION ({} MiB at {:#x}) failed: {}", size >> 20, gpa, errno_text()));
}

}  // namespace vireo::kvm
