// The tiers and the translation cache together (issue 22, "Cold code, fourth pass"): a cache
// far too small for the code flushes again and again while blocks move between the
// interpreter tier and translated code; the result stays exact and the tier counters stay
// consistent (every instruction counted once, by the tier that ran it).
#include <gtest/gtest.h>

#include "jit_harness.h"

using namespace vireo;
using namespace vireo::test;

namespace {

// mov ecx, rounds; loop: call chain; dec ecx; jnz loop; syscall
// chain: 300 blocks, each [pop rdx (not the first); add rax, imm8; call +1; int3], then pop rdx; ret.
std::vector<uint8_t> chain_program(uint32_t rounds, uint64_t& sum_per_round) {
  std::vector<uint8_t> code = {0xB9, uint8_t(rounds), uint8_t(rounds >> 8), 0, 0,  // mov ecx, rounds
                               0xE8, 0x06, 0x00, 0x00, 0x00,                      // loop: call chain (+6)
                               0xFF, 0xC9,                                        // dec ecx
                               0x75, 0xF7,                                        // jnz loop
                               0x0F, 0x05};                                       // syscall
  sum_per_round = 0;
  for (int i = 0; i < 300; ++i) {
    if (i) code.push_back(0x5A);                                        // pop rdx
    code.insert(code.end(), {0x48, 0x83, 0xC0, uint8_t(i & 0x7F)});  // add rax, imm8
    // call +1, over an int3: a call to the very next byte would be a fall-through to the
    // interpreter tier (it stops at control transfers that go elsewhere)
    code.insert(code.end(), {0xE8, 0x01, 0x00, 0x00, 0x00, 0xCC});
    sum_per_round += i & 0x7F;
  }
  code.insert(code.end(), {0x5A, 0xC3});  // pop rdx; ret
  return code;
}

}  // namespace

TEST(JitTiers, FlushesWhileBlocksArePromotedKeepResultsAndCountsExact) {
  uint64_t per_round = 0;
  const uint32_t rounds = 40;
  std::vector<uint8_t> code = chain_program(rounds, per_round);
  jit::JitOptions o;
  o.tc_size = 8 << 10;  // 8 KiB: a fraction of what 300 blocks need
  o.tiers.translate_after = 4;
  o.tiers.interp_cache_entries = 2048;
  Machine m;
  m.load(code);
  m.cpu.gpr[RAX] = 0;
  const uint64_t insns_before = m.cpu.insn_count;
  jit::JitEngine jit(m.as.memory(), o);
  ASSERT_EQ(jit.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(m.cpu.gpr[RAX], per_round * rounds);
  const jit::JitStats& s = jit.stats();
  const jit::TierStats& t = jit.tier_stats();
  EXPECT_GT(s.flushes, 2u);
  // Flushed blocks start cold again: interpreted N times, then translated again.
  EXPECT_GT(s.blocks_translated, 300u);
  EXPECT_GT(t.interp_entries, 4u * 300u);
  // Each instruction ran in exactly one tier.
  const uint64_t total = m.cpu.insn_count - insns_before;
  EXPECT_EQ(t.interp_insns + s.translated_insns, total);
  // (per round: call, dec, jnz; add + call, then pop + add + call 299 times; pop + ret. mov, syscall)
  EXPECT_EQ(total, rounds * (3u + 2u + 3u * 299u + 2u) + 2u);
}
