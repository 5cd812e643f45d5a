#include "machine/loaders/pvh_boot.h"

#include <elf.h>

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "machine/loaders/acpi_tables.h"
#include "machine/loaders/boot_common.h"
#include "machine/loaders/multiboot.h"

namespace vireo::machine {

namespace {

constexpr uint32_t kXenElfnotePhys32Entry = 18;
constexpr uint32_t kStartInfoMagic = 0x336EC578;  // XEN_HVM_START_MAGIC_VALUE

// Guest-physical layout below 1 MiB (the kernel reserves what the start info points to).
constexpr uint64_t kGdtAddr = 0x5000;
constexpr uint64_t kStartInfo = 0x10000;  // hvm_start_info (56 bytes)
constexpr uint64_t kModList = 0x10040;    // one hvm_modlist_entry (32 bytes)
constexpr uint64_t kMemMap = 0x10080;     // hvm_memmap_table_entry[] (24 bytes each)
constexpr uint64_t kCmdline = 0x20000;
constexpr size_t kMaxCmdline = 4096;


}  // namespace

std::optional<uint32_t> pvh_entry(const std::vector<uint8_t>& v) {
  if (v.size() < sizeof(Elf64_Ehdr) || std::memcmp(v.data(), ELFMAG, SELFMAG) != 0 || v[EI_CLASS] != ELFCLASS64)
    return std::nullopt;
  auto eh = get<Elf64_Ehdr>(v.data(), 0);
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > v.size() ||
      uint64_t(eh.e_phnum) * sizeof(Elf64_Phdr) > v.size() - eh.e_phoff)
    return std::nullopt;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    auto ph = get<Elf64_Phdr>(v.data(), eh.e_phoff + uint64_t(i) * sizeof(Elf64_Phdr));
    if (ph.p_type != PT_NOTE || ph.p_offset > v.size() || ph.p_filesz > v.size() - ph.p_offset) continue;
    // Notes: namesz, descsz, type, then name and desc, each padded to 4 bytes.
    for (uint64_t at = ph.p_offset, end = ph.p_offset + ph.p_filesz; at + 12 <= end;) {
      uint32_t namesz = get<uint32_t>(v.data(), at), descsz = get<uint32_t>(v.data(), at + 4);
      uint32_t type = get<uint32_t>(v.data(), at + 8);
      uint64_t name = at + 12, desc = name + ((uint64_t(namesz) + 3) & ~3ull);
      uint64_t next = desc + ((uint64_t(descsz) + 3) & ~3ull);
      if (next > end) break;
      if (type == kXenElfnotePhys32Entry && namesz == 4 && std::memcmp(v.data() + name, "Xen", 4) == 0 &&
          (descsz == 4 || descsz == 8))
        return get<uint32_t>(v.data(), desc);
      at = next;
    }
  }
  return std::nullopt;
}

void load_pvh(const std::string& path, const std::vector<uint8_t>& elf, const std::vector<uint8_t>* initrd,
              const std::string& cmdline, GuestRam& ram, CpuState& cpu) {
  std::optional<uint32_t> entry = pvh_entry(elf);
  if (!entry) throw std::runtime_error(fmt::format("{}: ELF64 kernel without a PVH entry note", path));
  uint64_t end = 0;
  load_elf64_physical(path, "the kernel", elf, ram, end);
  if (cmdline.size() >= kMaxCmdline)
    throw std::runtime_error(fmt::format("{}: the command line is {} bytes (at most {})", path, cmdline.size(),
                                         kMaxCmdline - 1));

  uint8_t* si = ram.at(kStartInfo, 0x1000);
  std::memset(si, 0, 0x1000);
  std::memcpy(ram.at(kCmdline, cmdline.size() + 1), cmdline.c_str(), cmdline.size() + 1);
  const std::vector<E820Entry> map = pc_memory_map(ram.size());
  for (size_t i = 0; i < map.size(); ++i) {
    uint8_t* e = si + (kMemMap - kStartInfo) + i * 24;
    put<uint64_t>(e, 0, map[i].base);
    put<uint64_t>(e, 8, map[i].len);
    put<uint32_t>(e, 16, map[i].type);
  }
  put<uint32_t>(si, 0, kStartInfoMagic);
  put<uint32_t>(si, 4, 1);  // version 1: with the memory map
  put<uint64_t>(si, 24, kCmdline);
  put<uint64_t>(si, 32, build_acpi_tables(ram));
  put<uint64_t>(si, 40, kMemMap);
  put<uint32_t>(si, 48, uint32_t(map.size()));
  if (initrd && !initrd->empty()) {
    uint64_t at = place_initrd(path, *initrd, ram, end, ram.size());
    uint8_t* mod = si + (kModList - kStartInfo);
    put<uint64_t>(mod, 0, at);
    put<uint64_t>(mod, 8, initrd->size());
    put<uint32_t>(si, 12, 1);  // nr_modules
    put<uint64_t>(si, 16, kModList);
  }

  // The PVH entry state: flat 32-bit code and data, paging off, interrupts off, a busy 32-bit
  // TSS in TR, EBX = the start info. Multiboot asks for the same, with its own EAX/EBX.
  set_multiboot_entry_state(cpu, *entry, 0, uint32_t(kGdtAddr));
  uint8_t* gdt = ram.at(kGdtAddr, 24);
  put<uint64_t>(gdt, 0, 0);
  put<uint64_t>(gdt, 8, 0x00CF9B000000FFFFull);
  put<uint64_t>(gdt, 16, 0x00CF93000000FFFFull);
  cpu.gpr[RAX] = 0;
  cpu.gpr[RBX] = kStartInfo;
  cpu.tr = Segment{0, 0x8B, 0x67, 0};
}

}  // namespace vireo::machine
