// The compressed payload of a bzImage (the vmlinux ELF the kernel's own decompressor would
// unpack), unpacked on the host. A stock Debian kernel is XZ-compressed; under the interpreter
// the guest's XZ decompressor costs the better part of a boot, so `vireo boot` unpacks it
// here and enters the decompressed kernel directly (linux_boot.cpp). The header fields are
// payload_offset/payload_length (boot protocol 2.08+).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vireo::machine {

// The payload's compression, from its magic bytes.
enum class PayloadFormat { Xz, Gzip, Other };

struct LinuxPayload {
  PayloadFormat format = PayloadFormat::Other;
  std::vector<uint8_t> vmlinux;  // empty unless unpacked
};

// Unpacks the payload of `bzimage` (whose protected-mode part starts at `setup_size`). Returns
// format Other with an empty vmlinux when the payload is in a format not unpacked here (the
// guest decompresses it then). Throws std::runtime_error with a one-line reason when the
// payload is corrupt or truncated.
LinuxPayload unpack_linux_payload(const std::string& path, const std::vector<uint8_t>& bzimage, uint64_t setup_size);

}  // namespace vireo::machine
