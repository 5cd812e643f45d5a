// The initial process stack: argc/argv/envp/auxv laid out as Linux's create_elf_tables().
#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>

#include "linux/initial_stack.h"

namespace vireo {
namespace {

TEST(LinuxInitialStack, ArgvEnvpAndAuxvAreWhereTheAbiSays) {
  AddressSpace as;
  LoadedElf elf{};
  elf.entry = 0x7f0000001000;  // the interpreter's: where execution starts, not AT_ENTRY
  elf.program_entry = 0x401000;
  elf.interp_base = 0x7f0000000000;
  elf.phdr = 0x400040;
  elf.phent = 56;
  elf.phnum = 7;
  uint64_t sp = build_initial_stack(as, elf, {"prog", "arg one"}, {"A=1", "B=2"}, "/bin/prog");
  EXPECT_EQ(sp % 16, 0u);
  auto word = [&](uint64_t addr) {
    uint64_t v;
    std::memcpy(&v, as.host(addr), 8);
    return v;
  };
  auto str = [&](uint64_t addr) { return std::string(reinterpret_cast<char*>(as.host(addr))); };
  EXPECT_EQ(word(sp), 2u);
  EXPECT_EQ(str(word(sp + 8)), "prog");
  EXPECT_EQ(str(word(sp + 16)), "arg one");
  EXPECT_EQ(word(sp + 24), 0u);
  EXPECT_EQ(str(word(sp + 32)), "A=1");
  EXPECT_EQ(str(word(sp + 40)), "B=2");
  EXPECT_EQ(word(sp + 48), 0u);
  std::map<uint64_t, uint64_t> aux;
  uint64_t p = sp + 56;
  for (; word(p) != AT_NULL; p += 16) aux[word(p)] = word(p + 8);
  EXPECT_EQ(aux.at(AT_PAGESZ), 4096u);
  EXPECT_EQ(aux.at(AT_ENTRY), 0x401000u);
  EXPECT_EQ(aux.at(AT_BASE), 0x7f0000000000u);
  EXPECT_EQ(aux.at(AT_PHDR), 0x400040u);
  EXPECT_EQ(aux.at(AT_PHENT), 56u);
  EXPECT_EQ(aux.at(AT_PHNUM), 7u);
  EXPECT_EQ(str(aux.at(AT_EXECFN)), "/bin/prog");
  EXPECT_EQ(str(aux.at(AT_PLATFORM)), "x86_64");
  EXPECT_TRUE(as.is_mapped(aux.at(AT_RANDOM), 16));
  // Strings live above the tables, inside the stack mapping, below its top.
  EXPECT_GT(aux.at(AT_RANDOM), p);
  EXPECT_LT(aux.at(AT_EXECFN), AddressSpace::kStackTop);
}

}  // namespace
}  // namespace vireo
