// The executable sections of an ELF file on the host, for tests that decode real programs'
// text (decode templates, the decoder against its reference).
#pragma once

#include <elf.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <utility>
#include <vector>

namespace vireo::test {

// The bytes of `path`'s executable sections and their addresses, each followed by 16 zero
// bytes (an instruction at a section's end can be read 15 bytes long); nothing when `path`
// is not a readable 64-bit ELF file.
inline std::vector<std::pair<uint64_t, std::vector<uint8_t>>> elf_text_sections(const char* path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<uint8_t> file((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> out;
  if (file.size() < sizeof(Elf64_Ehdr)) return out;
  Elf64_Ehdr eh;
  std::memcpy(&eh, file.data(), sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64) return out;
  for (unsigned i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr sh;
    const size_t at = eh.e_shoff + size_t(i) * eh.e_shentsize;
    if (at + sizeof sh > file.size()) break;
    std::memcpy(&sh, file.data() + at, sizeof sh);
    if (sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR) || sh.sh_offset + sh.sh_size > file.size())
      continue;
    std::vector<uint8_t> bytes(file.begin() + long(sh.sh_offset), file.begin() + long(sh.sh_offset + sh.sh_size));
    bytes.resize(bytes.size() + 16, 0);
    out.emplace_back(sh.sh_addr, std::move(bytes));
  }
  return out;
}

}  // namespace vireo::test
