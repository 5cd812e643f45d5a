// The interpreter's decode cache (interp/interpreter.h): the jit's tier's index starts small and
// grows once it has missed often, keeping what it had decoded; entries live in a pool in the
// order they were first run, and a full pool is emptied at once.
#include <gtest/gtest.h>

#include <sys/mman.h>

#include "jit_harness.h"

namespace vireo::test {
namespace {

TEST(InterpDecodeCache, GrowsAfterManyMissesAndKeepsItsEntries) {
  // 9,000 one-byte nops then syscall: 9,001 distinct instructions, each a compulsory miss in
  // a 2,048-entry table, which grows to 16,384 entries at its 8,192nd miss.
  constexpr size_t kNops = 9000;
  std::vector<uint8_t> code(kNops, 0x90);
  code.insert(code.end(), {0x0F, 0x05});
  Machine m;
  m.load(code);
  Interpreter in(m.as.memory(), 2048);
  EXPECT_EQ(in.decode_cache_entries(), 2048u);
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(in.decode_misses(), kNops + 1);
  EXPECT_EQ(in.decode_cache_entries(), 16384u);
  // Again: every instruction hits. The first through the grown index (which points at every
  // entry of the pool), the rest as the entry after the one before, in the pool.
  const uint64_t before = in.decode_misses();
  m.cpu.rip = kCode;
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(in.decode_misses() - before, 0u);
}

TEST(InterpDecodeCache, RewrittenCodeIsDecodedAgain) {
  // add eax, 1 ; syscall — then the add's immediate is rewritten: the entry (found as the
  // pool's next entry or through the index) no longer matches memory and is decoded again.
  Machine m;
  m.load({0x83, 0xC0, 0x01, 0x0F, 0x05});
  Interpreter in(m.as.memory());
  m.cpu.gpr[RAX] = 0;
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(m.cpu.gpr[RAX], 1u);
  EXPECT_EQ(in.decode_misses(), 2u);
  m.as.host(kCode)[2] = 0x05;
  m.cpu.rip = kCode;
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(m.cpu.gpr[RAX], 6u);
  EXPECT_EQ(in.decode_misses(), 3u);  // the add again; the syscall still hits
}

TEST(InterpDecodeCache, CodeMadeNonExecutableFaultsAgain) {
  // After invalidate() (the guest's mprotect or munmap), a cached entry is not used: the
  // fetch is done again and sees the page's protection.
  Machine m;
  m.load({0x90, 0x0F, 0x05});
  Interpreter in(m.as.memory());
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  ASSERT_EQ(m.as.mprotect(kCode, 4096, PROT_READ), 0);
  in.invalidate(kCode, 4096);
  m.cpu.rip = kCode;
  ASSERT_EQ(in.run(m.cpu), StopReason::Fault);
  EXPECT_EQ(m.cpu.fault.vector, VEC_PF);
  EXPECT_EQ(m.cpu.rip, kCode);
}

}  // namespace
}  // namespace vireo::test
