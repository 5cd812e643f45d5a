// The kvm_cpuid2 ABI, spelled out for C++. The kernel header declares its entries with
// __DECLARE_FLEX_ARRAY, which in C++ adds an empty member: sizeof(kvm_cpuid2) becomes 12 and
// the entries move to offset 12, so both the ioctl numbers and the layout would be wrong.
// The kernel's layout is { u32 nent; u32 padding; kvm_cpuid_entry2 entries[]; }.
#pragma once

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace vireo::kvm {

inline constexpr unsigned long kCpuid2HeaderSize = 8;
inline constexpr unsigned long kIoctlGetSupportedCpuid = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x05, kCpuid2HeaderSize);
inline constexpr unsigned long kIoctlSetCpuid2 = _IOC(_IOC_WRITE, KVMIO, 0x90, kCpuid2HeaderSize);

// A kvm_cpuid2 buffer with room for `n` entries.
inline std::vector<uint8_t> cpuid2_buffer(uint32_t n, const kvm_cpuid_entry2* entries = nullptr) {
  std::vector<uint8_t> buf(kCpuid2HeaderSize + n * sizeof(kvm_cpuid_entry2));
  std::memcpy(buf.data(), &n, 4);
  if (entries) std::memcpy(buf.data() + kCpuid2HeaderSize, entries, n * sizeof(kvm_cpuid_entry2));
  return buf;
}

inline uint32_t cpuid2_count(const std::vector<uint8_t>& buf) {
  uint32_t n;
  std::memcpy(&n, buf.data(), 4);
  return n;
}

inline const kvm_cpuid_entry2* cpuid2_entries(const std::vector<uint8_t>& buf) {
  return reinterpret_cast<const kvm_cpuid_entry2*>(buf.data() + kCpuid2HeaderSize);
}

}  // namespace vireo::kvm
