// The tier policy (src/jit/tiering.h) on its own: entries in, decisions out.
#include <gtest/gtest.h>

#include "jit/tiering.h"

using vireo::jit::TierOptions;
using vireo::jit::Tiering;

TEST(JitTiering, ADueBlockIsTranslatedUnlessItsPageIsDemoted) {
  Tiering t(TierOptions{.translate_after = 8});
  EXPECT_TRUE(t.interpreter_tier());
  EXPECT_EQ(t.threshold(), 8u);
  EXPECT_TRUE(t.due(0x1000, 8));
  EXPECT_EQ(t.stats.demoted_entries, 0u);
}

TEST(JitTiering, ZeroTranslatesAtOnce) {
  Tiering t(TierOptions{.translate_after = 0});
  EXPECT_FALSE(t.interpreter_tier());
  EXPECT_TRUE(t.due(0x1000, 1));
}

TEST(JitTiering, APageRewrittenAgainAndAgainIsInterpretedThenRetried) {
  Tiering t(TierOptions{.translate_after = 0, .demote_after_faults = 2, .retry_entries = 3});
  t.note_code_write(0x5008);
  EXPECT_TRUE(t.due(0x5010, 1));  // one fault: still translated
  t.note_code_write(0x5100);      // the second: demoted
  EXPECT_EQ(t.stats.pages_demoted, 1u);
  EXPECT_FALSE(t.due(0x5010, 1));
  EXPECT_FALSE(t.due(0x5020, 1));
  EXPECT_TRUE(t.due(0x6000, 1));  // other pages are not affected
  EXPECT_TRUE(t.due(0x5010, 1));  // the third entry: tried in translation again
  EXPECT_EQ(t.stats.demoted_entries, 3u);
  // Demoted again, for twice as many entries.
  t.note_code_write(0x5000);
  t.note_code_write(0x5000);
  EXPECT_EQ(t.stats.pages_demoted, 2u);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(t.due(0x5010, 1)) << i;
  EXPECT_TRUE(t.due(0x5010, 1));
}

TEST(JitTiering, ADueHeadOnADemotedPageCountsAllItsEntries) {
  // With the interpreter tier a head is due after N entries: a demoted page's retry count
  // goes down by N at a time.
  Tiering t(TierOptions{.translate_after = 8, .demote_after_faults = 1, .retry_entries = 20});
  t.note_code_write(0x7000);
  EXPECT_FALSE(t.due(0x7010, 8));
  EXPECT_FALSE(t.due(0x7010, 8));
  EXPECT_TRUE(t.due(0x7010, 8));  // 24 >= 20 entries
  EXPECT_EQ(t.stats.demoted_entries, 24u);
}

TEST(JitTiering, TheStartUpPhaseEndsAfterItsInstructions) {
  Tiering t(TierOptions{.translate_after = 8, .startup_translate_after = 64, .startup_insns = 1000});
  t.note_translation();
  EXPECT_EQ(t.threshold(), 64u);
  EXPECT_EQ(t.insns_until_steady(), 1000u);
  t.stats.interp_insns = 600;
  EXPECT_EQ(t.insns_until_steady(), 400u);
  t.stats.interp_insns = 1000;
  EXPECT_EQ(t.threshold(), 8u);
  EXPECT_EQ(t.insns_until_steady(), 0u);
}

// Past its instructions with nothing translated, the phase goes on until the first
// translation (a process about to exit does not pay for the translator's first use).
TEST(JitTiering, TheStartUpPhaseGoesOnUntilTheFirstTranslation) {
  Tiering t(TierOptions{.translate_after = 8, .startup_translate_after = 256, .startup_insns = 1000,
                        .startup_translate_insns = 4096});
  t.stats.interp_insns = 1500;
  EXPECT_EQ(t.threshold(), 256u);
  EXPECT_EQ(t.insns_until_steady(), 2500u);  // (at most 4 times its instructions)
  EXPECT_TRUE(t.weighs_due_heads());
  EXPECT_FALSE(t.pays_to_translate(0x1000, 4));  // 256 x 4 < 4,096: still weighed
  EXPECT_FALSE(t.startup_ended_late());
  EXPECT_FALSE(t.keeps_parent_counts());  // (counts follow the instructions alone)
  t.note_translation();
  EXPECT_EQ(t.threshold(), 8u);
  EXPECT_TRUE(t.startup_ended_late());
  EXPECT_TRUE(t.pays_to_translate(0x1000, 4));
  // A forked child keeps it (its parent's cache): its phase ends after its instructions.
  t.new_process();
  EXPECT_EQ(t.threshold(), 256u);
  t.stats.interp_insns = 2500;
  EXPECT_EQ(t.threshold(), 8u);
}

// A late end of the start-up phase (at the first translation, past its instructions) is told
// once: the jit then restarts the tier's head counts (Interpreter::restart_head_counts). An end
// on time, in a process that translated in its phase, is not (its hot code is known).
TEST(JitTiering, ALateEndOfTheStartUpPhaseIsToldOnce) {
  Tiering t(TierOptions{.translate_after = 8, .startup_translate_after = 256, .startup_insns = 1000});
  t.stats.interp_insns = 999;
  EXPECT_FALSE(t.startup_ended_late());
  t.stats.interp_insns = 1000;
  EXPECT_FALSE(t.startup_ended_late());  // (nothing translated: the phase goes on)
  t.note_translation();
  EXPECT_TRUE(t.startup_ended_late());
  EXPECT_FALSE(t.startup_ended_late());
  t.stats.interp_insns = 5000;
  EXPECT_FALSE(t.startup_ended_late());
  t.new_process();  // (a forked child: its own phase, its parent's translations)
  EXPECT_FALSE(t.startup_ended_late());
  t.stats.interp_insns = 6000;
  EXPECT_FALSE(t.startup_ended_late());  // (ended on time)
}

// With nothing ever translated (a phase N nothing reaches), the phase ends at 4 times its
// instructions.
TEST(JitTiering, ALateStartUpPhaseEndsAtFourTimesItsInstructions) {
  Tiering t(TierOptions{.translate_after = 8, .startup_translate_after = 1'000'000, .startup_insns = 1000});
  t.stats.interp_insns = 3999;
  EXPECT_EQ(t.threshold(), 1'000'000u);
  EXPECT_EQ(t.insns_until_steady(), 1u);
  t.stats.interp_insns = 4000;
  EXPECT_EQ(t.threshold(), 8u);
  EXPECT_EQ(t.insns_until_steady(), 0u);
  EXPECT_FALSE(t.startup_ended_late());
}

TEST(JitTiering, AnEndOfTheStartUpPhaseOnTimeIsNotTold) {
  Tiering t(TierOptions{.translate_after = 8, .startup_translate_after = 256, .startup_insns = 1000});
  t.stats.interp_insns = 500;
  t.note_translation();
  t.stats.interp_insns = 1000;
  EXPECT_EQ(t.threshold(), 8u);
  EXPECT_FALSE(t.startup_ended_late());
}

TEST(JitTiering, WithoutAStartUpPhaseItsEndIsNeverTold) {
  Tiering t(TierOptions{.translate_after = 8});
  t.stats.interp_insns = 1'000'000;
  EXPECT_FALSE(t.startup_ended_late());
  t.new_process();
  EXPECT_FALSE(t.startup_ended_late());
}

TEST(JitTiering, AForkedChildStartsItsOwnStartUpPhase) {
  Tiering t(TierOptions{.translate_after = 8, .startup_translate_after = 256, .startup_insns = 1000});
  t.note_translation();
  t.stats.interp_insns = 5000;
  EXPECT_EQ(t.threshold(), 8u);
  t.new_process();  // (the engine after a host fork)
  EXPECT_EQ(t.threshold(), 256u);
  EXPECT_EQ(t.insns_until_steady(), 1000u);
  t.stats.interp_insns = 6000;
  EXPECT_EQ(t.threshold(), 8u);
}

TEST(JitTiering, AYoungForkedChildKeepsItsParentsCounts) {
  Tiering t(TierOptions{.translate_after = 8, .startup_translate_after = 256, .startup_insns = 1000});
  EXPECT_FALSE(t.keeps_parent_counts());  // (the process that made the engine: its own pool)
  t.stats.interp_insns = 5000;
  t.new_process();
  EXPECT_TRUE(t.keeps_parent_counts());
  t.stats.interp_insns = 5999;
  EXPECT_TRUE(t.keeps_parent_counts());
  t.stats.interp_insns = 6000;  // grown up: its counts are stored again
  EXPECT_FALSE(t.keeps_parent_counts());
  t.new_process();  // (its own fork)
  EXPECT_TRUE(t.keeps_parent_counts());
}

// The parent side of a fork (JitEngine::fork_parent): young, it stops storing the counts of what
// it decoded before the fork (those pages are shared with the child now) until its start-up
// phase ends; past its start-up, a fork changes nothing.
TEST(JitTiering, AYoungForkingParentKeepsItsSharedCountsUntilItGrowsUp) {
  Tiering t(TierOptions{.translate_after = 8, .startup_translate_after = 256, .startup_insns = 1000});
  EXPECT_FALSE(t.keeps_shared_counts());
  t.stats.interp_insns = 400;
  EXPECT_TRUE(t.parent_forked());
  EXPECT_TRUE(t.keeps_shared_counts());
  EXPECT_FALSE(t.keeps_parent_counts());  // (a parent: its new decodes are indexed as usual)
  EXPECT_EQ(t.threshold(), 256u);         // (its phase goes on: the fork does not restart it)
  EXPECT_EQ(t.insns_until_steady(), 600u);
  t.stats.interp_insns = 1000;
  EXPECT_FALSE(t.keeps_shared_counts());
  EXPECT_FALSE(t.parent_forked());
  EXPECT_FALSE(t.keeps_shared_counts());
}

TEST(JitTiering, WithoutAStartUpPhaseAForkingParentCountsEverything) {
  Tiering t(TierOptions{.translate_after = 8});
  EXPECT_FALSE(t.parent_forked());
  EXPECT_FALSE(t.keeps_shared_counts());
}

TEST(JitTiering, WithoutAStartUpPhaseAForkedChildCountsEverything) {
  Tiering t(TierOptions{.translate_after = 8});
  t.new_process();
  EXPECT_FALSE(t.keeps_parent_counts());
}

TEST(JitTiering, NDoublesWithTheBlocksInTheCacheUpToEightTimes) {
  Tiering t(TierOptions{.translate_after = 8, .startup_translate_after = 256, .startup_insns = 1000,
                        .blocks_per_doubling = 100});
  t.note_translation();
  EXPECT_EQ(t.threshold(5000), 256u);  // (the start-up phase's N is not raised)
  t.stats.interp_insns = 1000;
  EXPECT_EQ(t.threshold(0), 8u);
  EXPECT_EQ(t.threshold(99), 8u);
  EXPECT_EQ(t.threshold(100), 16u);
  EXPECT_EQ(t.threshold(250), 32u);
  EXPECT_EQ(t.threshold(300), 64u);
  EXPECT_EQ(t.threshold(1000000), 64u);
  // (each step's edges: computed without a division)
  EXPECT_EQ(t.threshold(199), 16u);
  EXPECT_EQ(t.threshold(200), 32u);
  EXPECT_EQ(t.threshold(299), 32u);
  EXPECT_EQ(t.threshold(301), 64u);
  EXPECT_EQ(t.threshold(10), 8u);  // (after a flush, or blocks dropped: N comes down again)
}

TEST(JitTiering, NStaysWithoutADoublingStep) {
  Tiering t(TierOptions{.translate_after = 8});
  EXPECT_EQ(t.threshold(1000000), 8u);
}

// A process's first startup_uncounted_insns tier instructions run without head counts; a
// forked child gets its own; nothing without a start-up phase.
TEST(JitTiering, AYoungProcessRunsItsFirstInstructionsUncounted) {
  Tiering t(TierOptions{.translate_after = 8, .startup_translate_after = 256, .startup_insns = 1000,
                        .startup_uncounted_insns = 300});
  EXPECT_EQ(t.uncounted_insns_left(), 300u);
  t.stats.interp_insns = 100;
  EXPECT_EQ(t.uncounted_insns_left(), 200u);
  t.stats.interp_insns = 300;
  EXPECT_EQ(t.uncounted_insns_left(), 0u);
  t.new_process();  // (a forked child)
  EXPECT_EQ(t.uncounted_insns_left(), 300u);
  Tiering off(TierOptions{.translate_after = 8, .startup_uncounted_insns = 300});
  EXPECT_EQ(off.uncounted_insns_left(), 0u);
}
