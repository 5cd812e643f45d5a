// The tier policy (src/jit/tiering.h) on its own: counts in, decisions out.
#include <gtest/gtest.h>

#include "jit/tiering.h"

using vireo::jit::TierOptions;
using vireo::jit::Tiering;

TEST(JitTiering, TranslatesAtTheNthEntryOfAPc) {
  Tiering t(TierOptions{.translate_after = 3});
  EXPECT_FALSE(t.enter_cold(0x1000));
  EXPECT_FALSE(t.enter_cold(0x2000));
  EXPECT_FALSE(t.enter_cold(0x1000));
  EXPECT_TRUE(t.enter_cold(0x1000));  // the third entry of 0x1000
  EXPECT_FALSE(t.enter_cold(0x2000));
  EXPECT_TRUE(t.enter_cold(0x2000));
  // (a pc entered again after its translation was dropped counts from zero)
  EXPECT_FALSE(t.enter_cold(0x1000));
}

TEST(JitTiering, ZeroTranslatesAtOnce) {
  Tiering t(TierOptions{.translate_after = 0});
  EXPECT_FALSE(t.interpreter_tier());
  EXPECT_TRUE(t.enter_cold(0x1000));
}

TEST(JitTiering, APageRewrittenAgainAndAgainIsInterpretedThenRetried) {
  Tiering t(TierOptions{.translate_after = 0, .demote_after_faults = 2, .retry_entries = 3});
  t.note_code_write(0x5008);
  EXPECT_TRUE(t.enter_cold(0x5010));  // one fault: still translated
  t.note_code_write(0x5100);          // the second: demoted
  EXPECT_EQ(t.stats.pages_demoted, 1u);
  EXPECT_FALSE(t.enter_cold(0x5010));
  EXPECT_FALSE(t.enter_cold(0x5020));
  EXPECT_TRUE(t.enter_cold(0x6000));  // other pages are not affected
  EXPECT_TRUE(t.enter_cold(0x5010));  // the third entry: tried in translation again
  EXPECT_EQ(t.stats.demoted_entries, 3u);
  // Demoted again, for twice as many entries.
  t.note_code_write(0x5000);
  t.note_code_write(0x5000);
  EXPECT_EQ(t.stats.pages_demoted, 2u);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(t.enter_cold(0x5010)) << i;
  EXPECT_TRUE(t.enter_cold(0x5010));
}

// The count table grows (from 1,024 slots) while counts are in it: 60,000 pcs, as wide as
// python's start-up, each entered up to its threshold in interleaved rounds, each translated
// at exactly its Nth entry, wherever growth happened in between.
TEST(JitTiering, CountsSurviveTheTableGrowing) {
  Tiering t(TierOptions{.translate_after = 5});
  constexpr uint64_t kPcs = 60000;
  auto pc_of = [](uint64_t k) { return 0x555555554000ull + k * 7; };  // (odd strides, two pages apart and not)
  for (int round = 1; round <= 5; ++round) {
    for (uint64_t k = 0; k < kPcs; ++k) {
      if (round == 1 && k % 2) continue;  // odd pcs start a round later
      bool translate = t.enter_cold(pc_of(k));
      const int entries = k % 2 ? round - 1 : round;
      ASSERT_EQ(translate, entries == 5) << "pc " << k << " round " << round;
    }
  }
  EXPECT_EQ(t.counted_pcs(), kPcs);
  t.forget_counts();
  EXPECT_EQ(t.counted_pcs(), 0u);
  EXPECT_FALSE(t.enter_cold(pc_of(0)));  // cold again after a flush
}
