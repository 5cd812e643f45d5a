#include "machine/loaders/boot_common.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace vireo::machine {

void fail(const std::string& path, const std::string& why) {
  throw std::runtime_error(fmt::format("{}: {}", path, why));
}

std::vector<E820Entry> pc_memory_map(uint64_t ram_size) {
  return {{0, 0x9FC00, 1}, {0x9FC00, 0x400, 2}, {0xE0000, 0x20000, 2}, {0x100000, ram_size - 0x100000, 1}};
}

uint64_t place_initrd(const std::string& path, const std::vector<uint8_t>& initrd, GuestRam& ram, uint64_t lowest,
                      uint64_t top) {
  uint64_t size = initrd.size();
  top = std::min(top, ram.size());
  if (size > top || ((top - size) & ~0xFFFull) < lowest)
    fail(path, fmt::format("the initrd ({} KiB) does not fit in guest RAM above the kernel ({} MiB; try a larger -m)",
                           size >> 10, ram.size() >> 20));
  uint64_t at = (top - size) & ~0xFFFull;
  std::memcpy(ram.at(at, size), initrd.data(), size);
  return at;
}

uint64_t elf64_physical_entry(uint64_t e_entry, std::span<const Elf64_Phdr> loads) {
  for (const Elf64_Phdr& ph : loads)
    if (e_entry >= ph.p_paddr && e_entry - ph.p_paddr < ph.p_memsz) return e_entry;
  for (const Elf64_Phdr& ph : loads)
    if (e_entry >= ph.p_vaddr && e_entry - ph.p_vaddr < ph.p_memsz) return ph.p_paddr + (e_entry - ph.p_vaddr);
  return 0;
}

uint64_t load_elf64_physical(const std::string& path, const char* what, std::span<const uint8_t> v, GuestRam& ram,
                             uint64_t& end) {
  if (v.size() < sizeof(Elf64_Ehdr) || std::memcmp(v.data(), ELFMAG, SELFMAG) != 0 || v[EI_CLASS] != ELFCLASS64)
    fail(path, fmt::format("{} is not an ELF64 file", what));
  auto eh = get<Elf64_Ehdr>(v.data(), 0);
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > v.size() ||
      uint64_t(eh.e_phnum) * sizeof(Elf64_Phdr) > v.size() - eh.e_phoff)
    fail(path, fmt::format("{} has a corrupt program header table", what));
  std::vector<Elf64_Phdr> loads;
  end = 0;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    auto ph = get<Elf64_Phdr>(v.data(), eh.e_phoff + uint64_t(i) * sizeof(Elf64_Phdr));
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    if (ph.p_filesz > ph.p_memsz || ph.p_offset > v.size() || ph.p_filesz > v.size() - ph.p_offset)
      fail(path, fmt::format("{} has a corrupt segment {} (beyond the end of the file)", what, i));
    uint8_t* dst = ram.at(ph.p_paddr, ph.p_memsz);
    if (!dst)
      fail(path, fmt::format("the kernel ({:#x}-{:#x}) does not fit in {} MiB of guest RAM (try -m 128M)", ph.p_paddr,
                             ph.p_paddr + ph.p_memsz, ram.size() >> 20));
    std::memcpy(dst, v.data() + ph.p_offset, ph.p_filesz);
    std::memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
    end = std::max(end, ph.p_paddr + ph.p_memsz);
    loads.push_back(ph);
  }
  uint64_t entry = elf64_physical_entry(eh.e_entry, loads);
  if (end == 0 || entry == 0) fail(path, fmt::format("{} has no loadable segment holding its entry point", what));
  return entry;
}

}  // namespace vireo::machine
