// The decode cache kept across an in-place execve (interp/kept_decodes.cpp): the next image's
// engine reuses the old image's decodes if every page they came from is executable in it, and
// none otherwise.
#include <gtest/gtest.h>

#include <sys/mman.h>

#include "jit_harness.h"

namespace vireo::test {
namespace {

constexpr uint64_t kOther = 0x30000;  // a second code page
// Where its copy of the code starts: not at the page's start, whose index slots (rip mod
// 2,048) and tags (rip mod 65,536) kCode's code takes.
constexpr uint64_t kOtherCode = kOther + 0x400;

// Both code pages show a file, as a program's text does (inode `inode`, kCode's 64 KiB from
// offset 0 and kOther's page from offset 0x10000): the kept decodes are reused only where the
// new image shows the same file at the same offsets.
void name_code(Machine& m, uint64_t inode) {
  m.as.set_origin(kCode, kCode + 0x10000, "/test/program", 0, 1, inode);
  m.as.set_origin(kOther, kOther + 0x1000, "/test/program", 0x10000, 1, inode);
}

// 100 nops then syscall, at kCode and at kOther, run in an image where both are executable;
// its decode cache is kept. (One guest window at a time: two do not fit in the host.)
std::shared_ptr<KeptDecodes> first_image(size_t tier_slots, uint64_t& misses) {
  std::vector<uint8_t> code(100, 0x90);
  code.insert(code.end(), {0x0F, 0x05});
  Machine m;
  m.load(code);
  EXPECT_EQ(m.as.mmap(kOther, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
            int64_t(kOther));
  std::memcpy(m.as.host(kOtherCode), code.data(), code.size());
  name_code(m, 42);
  Interpreter in(m.as.memory(), tier_slots);
  EXPECT_FALSE(in.reused_decodes());
  for (uint64_t at : {kCode, kOtherCode}) {
    m.cpu.rip = at;
    EXPECT_EQ(in.run(m.cpu), StopReason::Syscall);
  }
  misses = in.decode_misses();
  return in.keep_decodes();
}

// The next image: the same code at kCode, and at kOther with protection `other_prot`, from
// the file with inode `inode` (the first image's: 42).
void second_image(Machine& m, int other_prot, uint64_t inode = 42) {
  std::vector<uint8_t> code(100, 0x90);
  code.insert(code.end(), {0x0F, 0x05});
  m.load(code);
  ASSERT_EQ(m.as.mmap(kOther, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
            int64_t(kOther));
  std::memcpy(m.as.host(kOtherCode), code.data(), code.size());
  if (other_prot != (PROT_READ | PROT_WRITE)) ASSERT_EQ(m.as.mprotect(kOther, 0x1000, other_prot), 0);
  name_code(m, inode);
}

TEST(InterpKeptDecodes, TheNextImageReusesThemWhereAllTheirCodeIsExecutable) {
  for (size_t slots : {size_t(0), size_t(2048)}) {  // the interp engine's pool, the jit tier's
    SCOPED_TRACE(slots);
    uint64_t first_misses = 0;
    std::shared_ptr<KeptDecodes> kept = first_image(slots, first_misses);
    EXPECT_EQ(first_misses, 2u * 101u);
    ASSERT_TRUE(kept);
    Machine m;
    second_image(m, PROT_READ | PROT_EXEC);
    offer_kept_decodes(kept);
    Interpreter in(m.as.memory(), slots);
    offer_kept_decodes(nullptr);
    EXPECT_TRUE(in.reused_decodes());
    for (uint64_t at : {kCode, kOtherCode}) {
      m.cpu.rip = at;
      ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
    }
    EXPECT_EQ(in.decode_misses(), 0u);  // all 202 from the old image
    EXPECT_EQ(m.cpu.insn_count, 202u);
  }
}

TEST(InterpKeptDecodes, AnImageWhereOldCodeIsNotExecutableReusesNone) {
  // kOther holds the same bytes, readable and writable only (a data page where the old image
  // had code): nothing is reused, and a jump there faults.
  for (size_t slots : {size_t(0), size_t(2048)}) {
    SCOPED_TRACE(slots);
    uint64_t first_misses = 0;
    std::shared_ptr<KeptDecodes> kept = first_image(slots, first_misses);
    Machine m;
    second_image(m, PROT_READ | PROT_WRITE);
    offer_kept_decodes(kept);
    Interpreter in(m.as.memory(), slots);
    offer_kept_decodes(nullptr);
    EXPECT_FALSE(in.reused_decodes());
    ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
    EXPECT_EQ(in.decode_misses(), 101u);
    m.cpu.rip = kOtherCode;
    ASSERT_EQ(in.run(m.cpu), StopReason::Fault);
    EXPECT_EQ(m.cpu.fault.vector, VEC_PF);
    EXPECT_EQ(m.cpu.fault.address, kOtherCode);
    EXPECT_EQ(m.cpu.rip, kOtherCode);
  }
}

TEST(InterpKeptDecodes, AnotherProgramAtTheSameAddressesReusesNone) {
  // Executable, but another file: its bytes differ, and an engine full of the old image's
  // entries would only cost (interp/kept_decodes.cpp).
  uint64_t first_misses = 0;
  std::shared_ptr<KeptDecodes> kept = first_image(0, first_misses);
  Machine m;
  second_image(m, PROT_READ | PROT_EXEC, 43);
  offer_kept_decodes(kept);
  Interpreter in(m.as.memory());
  offer_kept_decodes(nullptr);
  EXPECT_FALSE(in.reused_decodes());
}

TEST(InterpKeptDecodes, ChangedBytesAreDecodedAgain) {
  uint64_t first_misses = 0;
  std::shared_ptr<KeptDecodes> kept = first_image(0, first_misses);
  Machine m;
  second_image(m, PROT_READ | PROT_EXEC);
  // mov eax, 7 ; syscall where the old image had nops: every entry is checked against memory.
  m.load({0xB8, 0x07, 0x00, 0x00, 0x00, 0x0F, 0x05});
  offer_kept_decodes(kept);
  Interpreter in(m.as.memory());
  offer_kept_decodes(nullptr);
  ASSERT_TRUE(in.reused_decodes());
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(m.cpu.gpr[RAX], 7u);
  EXPECT_EQ(in.decode_misses(), 2u);
}

TEST(InterpKeptDecodes, OnlyAnEngineWithAPoolOfTheSameSizeTakesThem) {
  uint64_t first_misses = 0;
  std::shared_ptr<KeptDecodes> kept = first_image(0, first_misses);  // the interp engine's pool
  Machine m;
  second_image(m, PROT_READ | PROT_EXEC);
  offer_kept_decodes(kept);
  {
    Interpreter tier(m.as.memory(), 2048);  // the jit tier's smaller pool
    EXPECT_FALSE(tier.reused_decodes());
  }
  Interpreter in(m.as.memory());  // still offered: this one takes it
  EXPECT_TRUE(in.reused_decodes());
  offer_kept_decodes(nullptr);
}

TEST(InterpKeptDecodes, AGrownTierPoolIsKeptAtItsSize) {
  // A tier pool of 64 entries mapped for 128, grown by 101 decodes run again and again
  // (Interpreter::grow_pool), is taken by the next image's tier engine of the same mapping, at
  // 128 entries: the code decodes nothing there. An engine mapped for another size does not
  // take it.
  std::vector<uint8_t> code(100, 0x90);
  code.insert(code.end(), {0x0F, 0x05});
  std::shared_ptr<KeptDecodes> kept;
  {
    Machine m;
    m.load(code);
    ASSERT_EQ(m.as.mmap(kOther, 0x1000, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
              int64_t(kOther));
    name_code(m, 42);
    Interpreter in(m.as.memory(), 2048, 64, 128);
    for (int runs = 0; runs < 20 && in.decode_pool_entries() == 64; ++runs) {
      m.cpu.rip = kCode;
      ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
    }
    ASSERT_EQ(in.decode_pool_entries(), 128u);
    // (The run that grew it left some of the first nops overwritten: once more, and all 101
    // are in the pool.)
    m.cpu.rip = kCode;
    ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
    kept = in.keep_decodes();
    ASSERT_NE(kept, nullptr);
  }
  Machine m;
  second_image(m, PROT_READ | PROT_EXEC);
  offer_kept_decodes(kept);
  {
    Interpreter other(m.as.memory(), 2048, 64);  // mapped for 64: not this cache
    EXPECT_FALSE(other.reused_decodes());
  }
  Interpreter in(m.as.memory(), 2048, 64, 128);
  ASSERT_TRUE(in.reused_decodes());
  EXPECT_EQ(in.decode_pool_entries(), 128u);
  const uint64_t misses = in.decode_misses();
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(m.cpu.insn_count, 101u);
  EXPECT_EQ(in.decode_misses(), misses);
  offer_kept_decodes(nullptr);
}

}  // namespace
}  // namespace vireo::test
