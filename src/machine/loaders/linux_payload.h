// The compressed payload of a bzImage (the vmlinux ELF the kernel's own decompressor would
// unpack), unpacked on the host. A stock Debian kernel is XZ-compressed; under the interpreter
// the guest's XZ decompressor costs the better part of a boot, so `vireo boot` unpacks it
// here and enters the decompressed kernel directly (linux_boot.cpp). The header fields are
// payload_offset/payload_length (boot protocol 2.08+).
#pragma once

#include <cstdint>
#include <string>
#include <span>
#include <utility>
#include <vector>

namespace vireo::machine {

// The payload's compression, from its magic bytes.
enum class PayloadFormat { Xz, Gzip, Other };

// The unpacked kernel: an anonymous mapping, neither zero-filled by hand nor touched before the
// decoder writes it (a Debian vmlinux is about 60 MiB; a std::vector would clear it first).
class UnpackedImage {
 public:
  UnpackedImage() = default;
  ~UnpackedImage();
  UnpackedImage(UnpackedImage&& o) noexcept { swap(o); }
  UnpackedImage& operator=(UnpackedImage&& o) noexcept {
    swap(o);
    return *this;
  }
  // Makes room for `cap` bytes, keeping the first size() (moves the mapping if need be).
  void reserve(size_t cap);
  uint8_t* data() { return p_; }
  size_t capacity() const { return cap_; }
  void set_size(size_t n) { n_ = n; }
  bool empty() const { return n_ == 0; }
  std::span<const uint8_t> bytes() const { return {p_, n_}; }

 private:
  void swap(UnpackedImage& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    std::swap(cap_, o.cap_);
  }
  uint8_t* p_ = nullptr;
  size_t n_ = 0, cap_ = 0;
};

struct LinuxPayload {
  PayloadFormat format = PayloadFormat::Other;
  UnpackedImage vmlinux;  // empty unless unpacked
};

// Unpacks the payload of `bzimage` (whose protected-mode part starts at `setup_size`). Returns
// format Other with an empty vmlinux when the payload is in a format not unpacked here (the
// guest decompresses it then). Throws std::runtime_error with a one-line reason when the
// payload is corrupt or truncated.
LinuxPayload unpack_linux_payload(const std::string& path, const std::vector<uint8_t>& bzimage, uint64_t setup_size);

}  // namespace vireo::machine
