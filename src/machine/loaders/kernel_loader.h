// The loader chooser: recognises a kernel file by its content (never its name) and hands it
// to the loader for its format — a Linux bzImage (setup header "HdrS" at 0x202), an ELF64
// kernel with a PVH entry note (an uncompressed vmlinux), or a Multiboot v1 kernel (header in
// the first 8 KiB). Anything else is a one-line error.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cpu/cpu_state.h"
#include "machine/guest_ram.h"

namespace vireo::machine {

enum class KernelFormat { LinuxBzImage, Pvh, Multiboot };

struct KernelLoadRequest {
  std::string path;                    // names the kernel in errors (and in Multiboot's command line)
  const std::vector<uint8_t>* kernel;  // the file's bytes
  const std::vector<uint8_t>* initrd;  // nullptr: none
  std::string append;                  // the command line the user gave
  bool guest_decompress = false;       // Linux: run the kernel's own decompressor (linux_boot.h)
};

// Loads the kernel into `ram` and fills `cpu` with its entry state. Throws std::runtime_error
// with a one-line reason when the file is none of the formats or cannot be booted.
KernelFormat load_kernel(const KernelLoadRequest& req, GuestRam& ram, CpuState& cpu);

}  // namespace vireo::machine
