// What the Linux loaders (linux_boot.cpp for bzImage, pvh_boot.cpp for an ELF vmlinux) share:
// the PC memory map they report, the placement of the initrd, and loading an ELF64 kernel's
// segments at their physical addresses.
#pragma once

#include <elf.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "machine/guest_ram.h"

namespace vireo::machine {

// Little-endian fields of boot structures (the setup header, the zero page, hvm_start_info).
template <class T>
T get(const uint8_t* p, size_t off) {
  T v;
  std::memcpy(&v, p + off, sizeof v);
  return v;
}
template <class T>
void put(uint8_t* p, size_t off, T v) {
  std::memcpy(p + off, &v, sizeof v);
}

// A one-line load error naming the file.
[[noreturn]] void fail(const std::string& path, const std::string& why);

struct E820Entry {
  uint64_t base, len;
  uint32_t type;  // 1 RAM, 2 reserved
};

// The BIOS memory map of the board: conventional memory, the EBDA, the BIOS area (which holds
// the ACPI tables), RAM from 1 MiB (no PCI hole: -m stays below 3 GiB).
std::vector<E820Entry> pc_memory_map(uint64_t ram_size);

// Copies the initrd as high as it can go below `top` (page aligned) and above `lowest` (what
// the kernel needs). Returns its address; throws a one-line error when it does not fit.
uint64_t place_initrd(const std::string& path, const std::vector<uint8_t>& initrd, GuestRam& ram, uint64_t lowest,
                      uint64_t top);

// Loads the PT_LOAD segments of an ELF64 kernel at their physical addresses (p_paddr), as the
// kernel's own decompressor does for a kernel that stays at LOAD_PHYSICAL_ADDR. Returns the
// physical entry point (e_entry, translated if it is virtual) and sets `end` to the top of
// the image. `what` names the file's role in errors ("the unpacked vmlinux").
uint64_t load_elf64_physical(const std::string& path, const char* what, std::span<const uint8_t> elf, GuestRam& ram,
                             uint64_t& end);

// The physical entry point of an ELF64 kernel whose PT_LOAD segments are `loads`: e_entry
// when a segment holds it at its physical address (x86-64 vmlinux: phys_startup_64), else a
// virtual e_entry translated through the first segment holding it; 0 when none does.
uint64_t elf64_physical_entry(uint64_t e_entry, std::span<const Elf64_Phdr> loads);

}  // namespace vireo::machine
