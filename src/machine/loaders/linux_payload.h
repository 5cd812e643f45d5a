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

#include "machine/guest_ram.h"

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

// The payload unpacked straight into guest RAM (unpack_linux_kernel).
struct UnpackedKernel {
  PayloadFormat format = PayloadFormat::Other;
  bool loaded = false;       // the vmlinux's segments are in RAM
  uint64_t entry = 0, end = 0;  // its physical entry point and the top of its image
};

// Unpacks the payload of `bzimage` straight into guest RAM: the vmlinux ELF's header and
// program headers are decoded first, then each PT_LOAD segment's bytes are decoded to its
// physical address, the bytes between segments into a small scratch buffer, and the stream
// to its end and its integrity check (XZ: CRC32, as the kernel's own decompressor checks it).
// No copy of the 60 MiB image is made (nor mapped, nor faulted in: on a virtualized host the
// first touch of fresh memory costs as much as the copy). A vmlinux whose segments overlap in
// the file or precede its program headers is unpacked whole first (unpack_linux_payload).
// Format Other, not loaded: the guest decompresses it. Throws a one-line std::runtime_error
// for a corrupt or truncated payload, an ELF that is not one, a kernel that does not fit.
UnpackedKernel unpack_linux_kernel(const std::string& path, const std::vector<uint8_t>& bzimage, uint64_t setup_size,
                                   GuestRam& ram);

// Unpacks the payload of `bzimage` (whose protected-mode part starts at `setup_size`). Returns
// format Other with an empty vmlinux when the payload is in a format not unpacked here (the
// guest decompresses it then). Throws std::runtime_error with a one-line reason when the
// payload is corrupt or truncated.
LinuxPayload unpack_linux_payload(const std::string& path, const std::vector<uint8_t>& bzimage, uint64_t setup_size);

}  // namespace vireo::machine
