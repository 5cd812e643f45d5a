// Linux/x86 boot protocol (Documentation/arch/x86/boot.rst), the way `qemu-system-x86_64
// -kernel bzImage -initrd FILE -append CMDLINE` starts a kernel without a BIOS. The zero page
// (struct boot_params) carries the setup header, an e820 memory map, the command line, the
// initrd and the ACPI RSDP. Then one of two entries:
//
// - guest decompression (what QEMU does): the protected-mode kernel is loaded at 1 MiB and
//   the CPU enters at code32_start in flat 32-bit protected mode with paging off, ESI = the
//   zero page ("32-bit boot protocol"); the kernel's decompressor unpacks and relocates the
//   kernel (KASLR included) in the guest;
// - host decompression (the default when the payload is XZ or gzip): Vireo unpacks the
//   payload (linux_payload.h), loads the vmlinux ELF segments at their physical addresses
//   (LOAD_PHYSICAL_ADDR, 16 MiB: no relocation, so no physical KASLR) and enters its
//   startup_64 the way the decompressor does ("64-bit boot protocol"): long mode, paging on
//   with an identity map of the low 4 GiB, __BOOT_CS/__BOOT_DS, RSI = the zero page.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cpu/cpu_state.h"
#include "machine/guest_ram.h"

namespace vireo::machine {

// True when `image` carries the bzImage setup header ("HdrS" at 0x202).
bool is_linux_bzimage(const std::vector<uint8_t>& image);

struct LinuxBootInfo {
  uint16_t protocol = 0;        // boot protocol version, e.g. 0x20f
  bool host_decompressed = false;
  uint64_t kernel_addr = 0;     // where the protected-mode kernel was loaded
  uint64_t zero_page = 0;       // boot_params
  uint64_t initrd_addr = 0, initrd_size = 0;
};

// Loads the bzImage `kernel` (`path` names it in errors), the optional `initrd` and the command
// line into `ram`, writes the ACPI tables, and fills `cpu` with the entry state (32-bit entry
// when `guest_decompress` or when the payload is in a format Vireo does not unpack; 64-bit
// entry of the unpacked kernel otherwise). Throws std::runtime_error with a one-line reason
// when the files cannot be booted in this RAM.
LinuxBootInfo load_linux(const std::string& path, const std::vector<uint8_t>& kernel,
                         const std::vector<uint8_t>* initrd, const std::string& cmdline, bool guest_decompress,
                         GuestRam& ram, CpuState& cpu);

}  // namespace vireo::machine
