// What the jit engine costs a young process (issue 22, docs/performance-history.md "Start-up, tenth
// pass"): its code cache is mapped only at its first translation, and in the start-up phase a
// due block is translated only once its entries times its length reach the start-up budget
// (TierOptions::startup_translate_insns). Results stay exact either way.
#include <gtest/gtest.h>

#include "jit/tiering.h"
#include "jit_harness.h"

using namespace vireo;
using namespace vireo::test;

namespace {

// mov ecx, rounds; loop: add rax, 1; dec ecx; jnz loop; syscall
// (the loop's head `loop` is entered rounds - 1 times: its first run falls through from mov)
std::vector<uint8_t> loop_program(uint32_t rounds) {
  return {0xB9, uint8_t(rounds), uint8_t(rounds >> 8), 0, 0,  // mov ecx, rounds
          0x48, 0x83, 0xC0, 0x01,                             // loop: add rax, 1
          0xFF, 0xC9,                                         // dec ecx
          0x75, 0xF8,                                         // jnz loop
          0x0F, 0x05};                                        // syscall
}

// A young process's options: translated at the 256th entry in its start-up phase, but only
// once entries x length reach `budget`.
jit::JitOptions young(uint32_t budget) {
  jit::JitOptions o;
  o.tiers.translate_after = 8;
  o.tiers.startup_translate_after = 256;
  o.tiers.startup_insns = 300'000;
  o.tiers.startup_translate_insns = budget;
  o.tiers.interp_cache_entries = 2048;
  return o;
}

struct LoopRun {
  StopReason r;
  uint64_t rax;
  struct {
    uint64_t blocks_translated, translated_insns;
  } stats;
  jit::TierStats tiers;
};

LoopRun run_loop(uint32_t rounds, const jit::JitOptions& o) {
  Machine m;
  m.load(loop_program(rounds));
  m.cpu.gpr[RAX] = 0;
  jit::JitEngine jit(m.as.memory(), o);
  LoopRun out;
  out.r = jit.run(m.cpu);
  out.rax = m.cpu.gpr[RAX];
  out.stats = {jit.stats().blocks_translated, jit.stats().translated_insns};
  out.tiers = jit.tier_stats();
  return out;
}

}  // namespace

TEST(JitYoungProcess, AStartUpBlockIsAskedAgainUntilEntriesTimesLengthReachTheBudget) {
  jit::TierOptions o;
  o.translate_after = 8;
  o.startup_translate_after = 256;
  o.startup_insns = 300'000;
  o.startup_translate_insns = 8192;
  jit::Tiering t(o);
  // 6 instructions a block: 256 x 6 x 6 = 9,216 is the first round past 8,192.
  for (int round = 1; round <= 5; ++round) EXPECT_FALSE(t.pays_to_translate(0x1000, 6)) << "round " << round;
  EXPECT_TRUE(t.pays_to_translate(0x1000, 6));
  EXPECT_EQ(t.stats.startup_deferrals, 5u);
  // Asked again later (a flush made it cold): its rounds start over.
  EXPECT_FALSE(t.pays_to_translate(0x1000, 6));
  // A long block pays at once; each head has rounds of its own.
  EXPECT_TRUE(t.pays_to_translate(0x2000, 40));
  // (no length known: 1)
  EXPECT_FALSE(t.pays_to_translate(0x3000, 0));
  // Past the start-up phase N alone decides.
  t.stats.interp_insns = o.startup_insns;
  t.note_translation();
  EXPECT_TRUE(t.pays_to_translate(0x3000, 1));
  EXPECT_TRUE(t.pays_to_translate(0x1000, 6));
  // A budget of 0: due is due.
  o.startup_translate_insns = 0;
  jit::Tiering off(o);
  EXPECT_TRUE(off.pays_to_translate(0x1000, 1));
  EXPECT_EQ(off.stats.startup_deferrals, 0u);
}

TEST(JitYoungProcess, ASmallLoopIsTranslatedAtTheRoundThatReachesTheBudget) {
  // The loop's block is 3 or 4 instructions (add, dec, jnz; the syscall after it once it has
  // been decoded): 256 x 4 = 1,024 and 256 x 3 = 768 are below 1,536, two rounds are not.
  const jit::JitOptions o = young(1536);
  // 399 entries: due once (at 256), interpreted again, never due again: nothing translated.
  LoopRun a = run_loop(400, o);
  ASSERT_EQ(a.r, StopReason::Syscall);
  EXPECT_EQ(a.rax, 400u);
  EXPECT_EQ(a.tiers.startup_deferrals, 1u);
  EXPECT_EQ(a.stats.blocks_translated, 0u);
  EXPECT_EQ(a.stats.translated_insns, 0u);
  // 2,999 entries: due at 256, then at its 511th entry, translated there.
  LoopRun b = run_loop(3000, o);
  ASSERT_EQ(b.r, StopReason::Syscall);
  EXPECT_EQ(b.rax, 3000u);
  EXPECT_EQ(b.tiers.startup_deferrals, 1u);
  EXPECT_GE(b.stats.blocks_translated, 1u);
  EXPECT_GT(b.stats.translated_insns, 3u * 2000u);
  EXPECT_LT(b.tiers.interp_insns, 3u * 600u);
  // Without a budget it is translated at its 256th entry.
  LoopRun c = run_loop(400, young(0));
  ASSERT_EQ(c.r, StopReason::Syscall);
  EXPECT_EQ(c.rax, 400u);
  EXPECT_EQ(c.tiers.startup_deferrals, 0u);
  EXPECT_GE(c.stats.blocks_translated, 1u);
  EXPECT_LT(c.tiers.interp_insns, 3u * 300u);
}

TEST(JitYoungProcess, AnEngineThatTranslatesNothingMapsNoCodeCache) {
  jit::JitOptions o = young(0);
  // A recycled mapping of the size the engines use, as an in-place execve leaves one.
  { jit::CodeCache made(o.tc_size); }
  const void* spare = jit::CodeCache::spare_mapping();
  ASSERT_NE(spare, nullptr);
  {
    // Interpreted only (never due): the engine leaves the spare mapping where it is.
    o.tiers.translate_after = o.tiers.startup_translate_after = 1u << 30;
    LoopRun r = run_loop(300, o);
    ASSERT_EQ(r.r, StopReason::Syscall);
    EXPECT_EQ(r.rax, 300u);
    EXPECT_EQ(r.stats.blocks_translated, 0u);
    EXPECT_EQ(jit::CodeCache::spare_mapping(), spare);
  }
  {
    // Its first translation maps the cache: it takes the spare mapping, and gives it back
    // when it goes.
    Machine m;
    m.load(loop_program(300));
    m.cpu.gpr[RAX] = 0;
    jit::JitEngine jit(m.as.memory(), young(0));
    ASSERT_EQ(jit.run(m.cpu), StopReason::Syscall);
    EXPECT_EQ(m.cpu.gpr[RAX], 300u);
    EXPECT_GE(jit.stats().blocks_translated, 1u);
    EXPECT_EQ(jit::CodeCache::spare_mapping(), nullptr);
  }
  EXPECT_EQ(jit::CodeCache::spare_mapping(), spare);
}

TEST(JitYoungProcess, ALazyCacheFindsNothingAndDropsNothingBeforeItIsMapped) {
  jit::CodeCache c(1 << 20, jit::CodeCache::Mapping::Lazily);
  EXPECT_FALSE(c.mapped());
  EXPECT_EQ(c.lookup(0x401000), nullptr);
  EXPECT_EQ(c.invalidate(0x400000, 0x10000), 0u);
  c.flush();
  EXPECT_EQ(c.block_count(), 0u);
  EXPECT_EQ(c.jump_cache(), nullptr);
  c.map();
  ASSERT_TRUE(c.mapped());
  EXPECT_NE(c.jump_cache(), nullptr);
  EXPECT_EQ(c.used_bytes(), 0u);
  EXPECT_EQ(c.lookup(0x401000), nullptr);
}
