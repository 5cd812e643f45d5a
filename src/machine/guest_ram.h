// GuestRam: guest physical memory as one anonymous host mapping.
//
// Every engine sees the same bytes: kvm registers the mapping as a memory slot, interp and
// jit translate guest-physical addresses to offsets in it (design.md, "Memory").
#pragma once

#include <cstddef>
#include <cstdint>

namespace vireo::machine {

class GuestRam {
 public:
  explicit GuestRam(uint64_t size);
  ~GuestRam();
  GuestRam(const GuestRam&) = delete;
  GuestRam& operator=(const GuestRam&) = delete;

  uint8_t* host() const { return base_; }
  uint64_t size() const { return size_; }
  bool contains(uint64_t gpa, uint64_t len) const { return gpa <= size_ && len <= size_ - gpa; }
  // Host pointer for [gpa, gpa+len); nullptr when the range is not all RAM.
  uint8_t* at(uint64_t gpa, uint64_t len = 1) const { return contains(gpa, len) ? base_ + gpa : nullptr; }

 private:
  uint8_t* base_;      // 2 MiB aligned, inside the mapping
  uint64_t size_;
  uint8_t* map_base_;  // the mapping itself (size_ + 2 MiB, for the alignment)
  uint64_t mapped_;
};

}  // namespace vireo::machine
