// The jit's interpreter tier's decode cache (interp/interpreter.h): it starts small and grows
// once it has missed often, keeping what it had decoded.
#include <gtest/gtest.h>

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
  // Again: the entries decoded after the growth (nops 8,191 on and the syscall) hit, and so
  // do those the small table held when it grew (the 2,048 nops before the 8,192nd miss).
  const uint64_t before = in.decode_misses();
  m.cpu.rip = kCode;
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(in.decode_misses() - before, kNops + 1 - (kNops + 1 - 8191) - 2048);
}

}  // namespace
}  // namespace vireo::test
