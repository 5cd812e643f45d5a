// Multiboot (v1) kernel loading, the way `qemu-system-x86_64 -kernel` does it: find the
// header in the first 8 KiB, load the ELF32 segments (or the a.out-kludge image the header
// describes) into guest RAM, build the boot information (memory map, command line, loader
// name) after the image, and describe the CPU state at the entry point.
//
// The result is a CpuState, so any engine can start from it: kvm converts it to its register
// structures, interp and jit execute from it directly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cpu/cpu_state.h"
#include "machine/guest_ram.h"

namespace vireo::machine {

struct MultibootImage {
  uint32_t entry = 0;
  uint32_t load_start = 0, load_end = 0;  // guest-physical range of the kernel image (with bss)
  uint32_t info_addr = 0;                 // the multiboot_info structure (EBX at entry)
};

// Loads `kernel` (the file's bytes; `path` names it in errors and starts the command line, as
// GRUB and QEMU do) into `ram` and fills `cpu` with the Multiboot entry state. Throws
// std::runtime_error with a one-line explanation when the file cannot be booted.
MultibootImage load_multiboot(const std::string& path, const std::vector<uint8_t>& kernel,
                              const std::string& append, GuestRam& ram, CpuState& cpu);

// The machine state Multiboot promises at entry (spec section 3.2): 32-bit protected mode,
// flat 4 GiB code and data segments, paging and interrupts off, EAX = 0x2BADB002.
void set_multiboot_entry_state(CpuState& cpu, uint32_t entry, uint32_t info_addr, uint32_t gdt_addr);

}  // namespace vireo::machine
