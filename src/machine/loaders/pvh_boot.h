// PVH boot of an uncompressed ELF vmlinux, the way `qemu-system-x86_64 -kernel vmlinux` does
// it: a kernel built with CONFIG_PVH carries the ELF note XEN_ELFNOTE_PHYS32_ENTRY (Xen's
// public/elfnote.h, type 18), the physical address of its 32-bit PVH entry (pvh_start_xen).
// The loader puts the PT_LOAD segments at their physical addresses and describes the machine
// in a struct hvm_start_info (Xen's public/arch-x86/hvm/start_info.h, version 1: command line,
// initrd as module 0, ACPI RSDP, memory map); the CPU enters in flat 32-bit protected mode,
// paging off, EBX = the start info.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cpu/cpu_state.h"
#include "machine/guest_ram.h"

namespace vireo::machine {

// The PVH entry point of an ELF64 kernel, if it has the note.
std::optional<uint32_t> pvh_entry(const std::vector<uint8_t>& elf);

// Loads the kernel, the optional initrd and the command line, writes the ACPI tables and
// fills `cpu` with the PVH entry state. Throws std::runtime_error with a one-line reason.
void load_pvh(const std::string& path, const std::vector<uint8_t>& elf, const std::vector<uint8_t>* initrd,
              const std::string& cmdline, GuestRam& ram, CpuState& cpu);

}  // namespace vireo::machine
