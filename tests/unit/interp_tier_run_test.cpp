// The jit's interpreter tier on the interpreter's own loop (Interpreter::run_tier,
// jit/tiering.h): block heads are counted in their decode-cache entries, the run stops before a
// head at its Nth entry and only there, and instruction counts stay exact.
#include <gtest/gtest.h>

#include <set>

#include "jit_harness.h"

namespace vireo::test {
namespace {

// mov edx, 100 ; L: dec edx ; jnz L ; syscall. L is a head from its second iteration on (the
// first falls through to it).
const std::vector<uint8_t> kLoop = {0xBA, 100, 0, 0, 0, 0xFF, 0xCA, 0x75, 0xFC, 0x0F, 0x05};
constexpr uint64_t kL = kCode + 5;

// A run of the tier whose heads are due at their `translate_at`th entry.
Interpreter::TierRun tier_run(uint32_t translate_at) {
  Interpreter::TierRun run;
  run.translate_at = translate_at;
  return run;
}

TEST(InterpTierRun, StopsBeforeAHeadAtItsNthEntry) {
  Machine m;
  m.load(kLoop);
  Interpreter in(m.as.memory(), 2048);
  Interpreter::TierRun run = tier_run(4);
  ASSERT_EQ(in.run_tier(m.cpu, run), StopReason::InstructionLimit);
  EXPECT_TRUE(run.due);
  EXPECT_EQ(m.cpu.rip, kL);
  // mov, then four iterations: L's fourth entry as a head is its fifth iteration, not run.
  EXPECT_EQ(m.cpu.insn_count, 1u + 4u * 2u);
  EXPECT_EQ(m.cpu.gpr[RDX], 96u);
  EXPECT_EQ(run.heads, 1u + 3u);  // the mov, and L three times
  // A due head stays due: entered again, the run stops at once.
  Interpreter::TierRun again = tier_run(4);
  ASSERT_EQ(in.run_tier(m.cpu, again), StopReason::InstructionLimit);
  EXPECT_TRUE(again.due);
  EXPECT_EQ(m.cpu.insn_count, 9u);
  // Restarted (the jit chose to interpret it), it runs as its first entry and is due at its
  // fourth.
  Interpreter::TierRun restart = tier_run(4);
  restart.restart_first = true;
  ASSERT_EQ(in.run_tier(m.cpu, restart), StopReason::InstructionLimit);
  EXPECT_TRUE(restart.due);
  EXPECT_EQ(m.cpu.insn_count, 9u + 3u * 2u);
  EXPECT_EQ(m.cpu.gpr[RDX], 93u);
  // With a high N it runs to the syscall: every instruction counted once.
  Interpreter::TierRun rest = tier_run(1000);
  rest.restart_first = true;
  ASSERT_EQ(in.run_tier(m.cpu, rest), StopReason::Syscall);
  EXPECT_FALSE(rest.due);
  EXPECT_EQ(m.cpu.insn_count, 1u + 100u * 2u + 1u);
  EXPECT_EQ(m.cpu.gpr[RDX], 0u);
  EXPECT_EQ(rest.heads, 93u);  // L's last 93 entries (the first one restarted)
}

TEST(InterpTierRun, AHeadTranslatedUnderAnotherEntryIsDueAtOnce) {
  // The head's pc has a translation (its earlier entry was dropped with the pool): its first
  // count asks, and the run stops there.
  Machine m;
  m.load(kLoop);
  Interpreter in(m.as.memory(), 2048);
  std::set<uint64_t> asked;
  Interpreter::TierRun run = tier_run(50);
  run.ctx = &asked;
  run.translated = [](void* ctx, uint64_t pc) {
    static_cast<std::set<uint64_t>*>(ctx)->insert(pc);
    return pc == kL;
  };
  ASSERT_EQ(in.run_tier(m.cpu, run), StopReason::InstructionLimit);
  EXPECT_TRUE(run.due);
  EXPECT_EQ(m.cpu.rip, kL);
  EXPECT_EQ(m.cpu.insn_count, 3u);  // mov, dec, jnz
  EXPECT_EQ(asked, (std::set<uint64_t>{kCode, kL}));  // once per head entry, at its first count
}

TEST(InterpTierRun, YieldsAtAHeadOnceItsInstructionsAreRun) {
  Machine m;
  m.load(kLoop);
  Interpreter in(m.as.memory(), 2048);
  Interpreter::TierRun run = tier_run(1000);
  run.yield_at_insn = 10;
  ASSERT_EQ(in.run_tier(m.cpu, run), StopReason::InstructionLimit);
  EXPECT_FALSE(run.due);
  EXPECT_EQ(m.cpu.rip, kL);
  EXPECT_EQ(m.cpu.insn_count, 11u);  // the first head at or after 10 instructions
  // A raised flag (another thread's invalidation) stops it at the next head too.
  std::atomic<bool> flag{true};
  Interpreter::TierRun flagged = tier_run(1000);
  flagged.yield_flag = &flag;
  ASSERT_EQ(in.run_tier(m.cpu, flagged), StopReason::InstructionLimit);
  EXPECT_EQ(m.cpu.insn_count, 13u);  // (never at the run's first head)
}

// A young process's first instructions run uncounted (TierRun::uncounted_until,
// jit::TierOptions::startup_uncounted_insns): no head is counted or due before the bound; the
// instruction the bound stops at is counted as the run's first head, and L from its next entry.
TEST(InterpTierRun, UncountedInstructionsCountNoHead) {
  Machine m;
  m.load(kLoop);
  Interpreter in(m.as.memory(), 2048);
  Interpreter::TierRun run = tier_run(4);
  run.uncounted_until = 1 + 10 * 2;  // mov, then 10 iterations: L due at its 4th entry had it counted
  ASSERT_EQ(in.run_tier(m.cpu, run), StopReason::InstructionLimit);
  EXPECT_TRUE(run.due);
  EXPECT_EQ(m.cpu.rip, kL);
  // L at the bound (its 11th iteration) is the first head counted (1), then due at its 4th count.
  EXPECT_EQ(m.cpu.insn_count, 21u + 3u * 2u);
  EXPECT_EQ(m.cpu.gpr[RDX], 87u);
  EXPECT_EQ(run.heads, 3u);
}

// A stop inside the uncounted stretch (here the syscall) returns as it would counted, every
// instruction run once and no head counted.
TEST(InterpTierRun, AStopInTheUncountedStretchReturns) {
  Machine m;
  m.load(kLoop);
  Interpreter in(m.as.memory(), 2048);
  Interpreter::TierRun run = tier_run(4);
  run.uncounted_until = 1000;
  ASSERT_EQ(in.run_tier(m.cpu, run), StopReason::Syscall);
  EXPECT_FALSE(run.due);
  EXPECT_EQ(m.cpu.insn_count, 1u + 100u * 2u + 1u);
  EXPECT_EQ(m.cpu.gpr[RDX], 0u);
  EXPECT_EQ(run.heads, 0u);
}

TEST(InterpTierRun, DueHeadsCooledCountAgain) {
  Machine m;
  m.load(kLoop);
  Interpreter in(m.as.memory(), 2048);
  Interpreter::TierRun run = tier_run(3);
  ASSERT_EQ(in.run_tier(m.cpu, run), StopReason::InstructionLimit);
  EXPECT_EQ(m.cpu.insn_count, 1u + 3u * 2u);
  in.cool_due_heads();
  Interpreter::TierRun again = tier_run(3);
  ASSERT_EQ(in.run_tier(m.cpu, again), StopReason::InstructionLimit);
  EXPECT_EQ(m.cpu.insn_count, 7u + 2u * 2u);  // entries 1 and 2 run, the third is due
}

// The jit's start-up phase ended (Interpreter::restart_head_counts): counts restart from 0,
// a due head stays due.
TEST(InterpTierRun, RestartedHeadCountsCountAgainButDueHeadsStayDue) {
  Machine m;
  m.load(kLoop);
  Interpreter in(m.as.memory(), 2048);
  Interpreter::TierRun run = tier_run(5);
  run.yield_at_insn = 7;  // mov, then L counted twice (its first iteration falls through to it)
  ASSERT_EQ(in.run_tier(m.cpu, run), StopReason::InstructionLimit);
  EXPECT_FALSE(run.due);
  EXPECT_EQ(m.cpu.insn_count, 7u);
  in.restart_head_counts();
  Interpreter::TierRun again = tier_run(5);
  ASSERT_EQ(in.run_tier(m.cpu, again), StopReason::InstructionLimit);
  EXPECT_TRUE(again.due);
  // Without the restart L (2 entries counted) was due at its third entry from here (11
  // instructions); restarted, at its fifth.
  EXPECT_EQ(m.cpu.insn_count, 7u + 4u * 2u);
  in.restart_head_counts();
  Interpreter::TierRun due = tier_run(5);
  ASSERT_EQ(in.run_tier(m.cpu, due), StopReason::InstructionLimit);
  EXPECT_TRUE(due.due);
  EXPECT_EQ(m.cpu.insn_count, 15u);  // still due: it stops at once
}

TEST(InterpTierRun, HeadCountsStartAfreshWhenThePoolWraps) {
  // A head A (nop ; syscall at kCode) entered twice, N = 3, in a 64-entry pool. Filler code (at
  // +0x100: 59 nops and a syscall) fills the pool before A; more filler (at +0x200: 10 nops and
  // a syscall) makes it wrap, overwriting the oldest entries, not A's. A's entry is still
  // there (no decode) but its count restarted: its third entry runs instead of being due,
  // and its count reaches N only at its third entry after the wrap.
  constexpr size_t kPool = 64;
  for (bool wrap : {false, true}) {
    std::vector<uint8_t> code(0x300, 0x90);
    code[0x001] = 0x0F, code[0x002] = 0x05;
    code[0x100 + 59] = 0x0F, code[0x100 + 60] = 0x05;
    code[0x200 + 10] = 0x0F, code[0x200 + 11] = 0x05;
    Machine m;
    m.load(code);
    Interpreter in(m.as.memory(), 2048, kPool);
    auto tier = [&](uint64_t at) {
      m.cpu.rip = at;
      Interpreter::TierRun run = tier_run(3);
      StopReason r = in.run_tier(m.cpu, run);
      return r == StopReason::InstructionLimit && run.due ? 0 : int(r == StopReason::Syscall);
    };
    ASSERT_EQ(tier(kCode + 0x100), 1);  // 60 decodes
    ASSERT_EQ(tier(kCode), 1);           // A's first entry
    ASSERT_EQ(tier(kCode), 1);           // its second
    EXPECT_EQ(in.decode_misses(), 62u);
    if (wrap) {
      ASSERT_EQ(tier(kCode + 0x200), 1);  // 11 decodes: the pool wraps at the third
      EXPECT_EQ(in.decode_misses(), 73u);
      EXPECT_EQ(tier(kCode), 1);  // A's first entry again, its entry kept
      EXPECT_EQ(tier(kCode), 1);
      EXPECT_EQ(in.decode_misses(), 73u);
    }
    EXPECT_EQ(tier(kCode), 0) << "wrap " << wrap;  // the third entry counted: due
    EXPECT_EQ(tier(kCode), 0);                      // and it stays due
  }
}

TEST(InterpTierRun, HeadCountsGoOnWhenThePoolGrows) {
  // The same, with a pool of 64 entries that may grow to 128 (Interpreter::grow_pool): filler
  // at +0x100 (382 nops and a syscall: 383 decodes) wraps it 5 times and leaves one entry
  // free; A's nop takes it, and A's syscall, the 6th time the pool is full, makes it grow
  // instead of wrapping. Nothing was overwritten, so A's count goes on: its third entry, after
  // more filler (at +0x300: 10 nops and a syscall, in the new entries), is due, as in a pool
  // that never filled.
  std::vector<uint8_t> code(0x400, 0x90);
  code[0x001] = 0x0F, code[0x002] = 0x05;
  code[0x100 + 382] = 0x0F, code[0x100 + 383] = 0x05;
  code[0x300 + 10] = 0x0F, code[0x300 + 11] = 0x05;
  Machine m;
  m.load(code);
  Interpreter in(m.as.memory(), 2048, 64, 128);
  auto tier = [&](uint64_t at) {
    m.cpu.rip = at;
    Interpreter::TierRun run = tier_run(3);
    StopReason r = in.run_tier(m.cpu, run);
    return r == StopReason::InstructionLimit && run.due ? 0 : int(r == StopReason::Syscall);
  };
  ASSERT_EQ(tier(kCode + 0x100), 1);
  EXPECT_EQ(in.decode_pool_wraps(), 5u);
  EXPECT_EQ(in.decode_pool_entries(), 64u);
  ASSERT_EQ(tier(kCode), 1);  // A's first entry; the pool grows at its syscall
  EXPECT_EQ(in.decode_pool_entries(), 128u);
  ASSERT_EQ(tier(kCode), 1);  // its second
  ASSERT_EQ(tier(kCode + 0x300), 1);
  EXPECT_EQ(in.decode_misses(), 383u + 2u + 11u);
  EXPECT_EQ(in.decode_pool_wraps(), 5u);
  EXPECT_EQ(tier(kCode), 0);  // the third: due
}

// The jit's young forked child (TierRun::keep_inherited): the counts of heads decoded before
// mark_inherited() are read but not stored (their pool pages are shared with the parent,
// copy-on-write); what is decoded afterwards counts as usual.
TEST(InterpTierRun, InheritedCountsAreReadNotStored) {
  Machine m;
  m.load(kLoop);
  Interpreter in(m.as.memory(), 2048);
  Interpreter::TierRun parent = tier_run(1000);
  ASSERT_EQ(in.run_tier(m.cpu, parent), StopReason::Syscall);  // L counted 99 times
  in.mark_inherited();
  auto restart = [&] {
    m.cpu.rip = kCode;
    m.cpu.insn_count = 0;
  };
  // Kept: every entry of L reads 99 and counts 100, short of 150, and nothing is stored.
  restart();
  Interpreter::TierRun child = tier_run(150);
  child.keep_inherited = true;
  ASSERT_EQ(in.run_tier(m.cpu, child), StopReason::Syscall);
  EXPECT_FALSE(child.due);
  EXPECT_EQ(child.heads, 1u + 99u);
  // A count the parent brought to the threshold is due all the same.
  restart();
  Interpreter::TierRun near = tier_run(100);
  near.keep_inherited = true;
  ASSERT_EQ(in.run_tier(m.cpu, near), StopReason::InstructionLimit);
  EXPECT_TRUE(near.due);
  EXPECT_EQ(m.cpu.insn_count, 1u + 2u);  // mov, the first iteration; L's first entry is due
  // Stored again (the child grew up): L counts on from 99 and is due at its 51st entry.
  restart();
  Interpreter::TierRun grown = tier_run(150);
  ASSERT_EQ(in.run_tier(m.cpu, grown), StopReason::InstructionLimit);
  EXPECT_TRUE(grown.due);
  EXPECT_EQ(m.cpu.insn_count, 1u + 2u + 50u * 2u);
}

// An inherited head is counted in the loop (tier_counts) as tier_head counts it, read and not
// stored: for N on both sides of the parent's count, with and without a translation cache to
// ask, the run stops at the same entry (or not at all), counts the same heads, and leaves the
// parent's count as it was.
TEST(InterpTierRun, InheritedHeadsStopWhereTierHeadWouldAndStoreNothing) {
  for (uint32_t n : {3u, 99u, 100u, 101u, 150u}) {  // (N > 2: the mov, counted once by the parent, is not due)
    for (bool ask : {false, true}) {
      Machine m;
      m.load(kLoop);
      Interpreter in(m.as.memory(), 2048);
      Interpreter::TierRun parent = tier_run(1000);
      ASSERT_EQ(in.run_tier(m.cpu, parent), StopReason::Syscall);  // L counted 99 times
      in.mark_inherited();
      for (int round = 0; round < 2; ++round) {  // (the second finds the same counts)
        m.cpu.rip = kCode;
        m.cpu.insn_count = 0;
        Interpreter::TierRun child = tier_run(n);
        child.keep_inherited = true;
        if (ask) child.translated = [](void*, uint64_t) { return false; };
        const StopReason r = in.run_tier(m.cpu, child);
        if (n <= 100) {  // 99 + 1 reaches N at L's first entry as a head
          ASSERT_EQ(r, StopReason::InstructionLimit) << n << " ask " << ask;
          EXPECT_TRUE(child.due);
          EXPECT_EQ(m.cpu.rip, kL);
          EXPECT_EQ(m.cpu.insn_count, 1u + 2u) << n << " ask " << ask;
          EXPECT_EQ(child.heads, 1u) << n << " ask " << ask;
        } else {
          ASSERT_EQ(r, StopReason::Syscall) << n << " ask " << ask;
          EXPECT_FALSE(child.due);
          EXPECT_EQ(child.heads, 1u + 99u) << n << " ask " << ask;
        }
      }
    }
  }
}

TEST(InterpTierRun, CodeDecodedAfterTheMarkCountsAsUsual) {
  Machine m;
  m.load(kLoop);
  Interpreter in(m.as.memory(), 2048);
  in.mark_inherited();  // (nothing decoded yet)
  Interpreter::TierRun run = tier_run(4);
  run.keep_inherited = true;
  ASSERT_EQ(in.run_tier(m.cpu, run), StopReason::InstructionLimit);
  EXPECT_TRUE(run.due);
  EXPECT_EQ(m.cpu.insn_count, 1u + 4u * 2u);  // as in StopsBeforeAHeadAtItsNthEntry
}

// Most heads are counted in the loop itself (Interpreter::tier_counts), the rest by tier_head:
// for every N, with and without a translation cache to ask (which moves a head's first count
// to tier_head), and a due head restarted, the run stops at the same instruction and counts
// the same heads as N's arithmetic says.
TEST(InterpTierRun, EveryNStopsAtTheSameEntryWhoeverCounts) {
  for (uint32_t n = 1; n <= 6; ++n) {
    for (bool ask : {false, true}) {
      Machine m;
      m.load(kLoop);
      Interpreter in(m.as.memory(), 2048);
      Interpreter::TierRun run = tier_run(n);
      if (ask) run.translated = [](void*, uint64_t) { return false; };
      ASSERT_EQ(in.run_tier(m.cpu, run), StopReason::InstructionLimit) << n;
      // The mov is the run's first head (due at once when N = 1); L is due at its Nth entry
      // as a head, its (N+1)th iteration.
      if (n == 1) {
        EXPECT_EQ(m.cpu.insn_count, 0u);
        EXPECT_EQ(run.heads, 0u);
        continue;
      }
      EXPECT_TRUE(run.due);
      EXPECT_EQ(m.cpu.rip, kL) << n;
      EXPECT_EQ(m.cpu.insn_count, 1u + n * 2u) << n << " ask " << ask;
      EXPECT_EQ(run.heads, 1u + (n - 1)) << n << " ask " << ask;
      // Restarted: counted from 1 again, due at its Nth entry.
      Interpreter::TierRun restart = tier_run(n);
      restart.restart_first = true;
      if (ask) restart.translated = run.translated;
      ASSERT_EQ(in.run_tier(m.cpu, restart), StopReason::InstructionLimit);
      EXPECT_TRUE(restart.due);
      EXPECT_EQ(m.cpu.insn_count, 1u + n * 2u + (n - 1) * 2u) << n << " ask " << ask;
      EXPECT_EQ(restart.heads, n - 1u);
    }
  }
}

// The jit engine's dispatcher with the tier: the loop's head is translated at its Nth entry,
// and the instructions each tier ran add up.
TEST(InterpTierRun, TheJitTranslatesAHeadAtItsNthEntry) {
  Machine m;
  m.load(kLoop);
  jit::JitOptions o;
  o.tiers.translate_after = 10;
  jit::JitEngine jit(m.as.memory(), o);
  ASSERT_EQ(jit.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(m.cpu.gpr[RDX], 0u);
  const jit::TierStats& t = jit.tier_stats();
  // mov and ten iterations; the rest translated, then the syscall (the loop's exit to it).
  EXPECT_EQ(t.interp_insns, 1u + 10u * 2u + 1u);
  EXPECT_EQ(t.interp_entries, 1u + 9u + 1u);
  EXPECT_EQ(jit.stats().blocks_translated, 1u);
  EXPECT_EQ(t.interp_insns + jit.stats().translated_insns, m.cpu.insn_count);
}


TEST(InterpTierRun, AReturnFromTranslatedCodeResumesAtTheCallersNextInstructionAsItIsNow) {
  // call F ; mov eax, 1 ; syscall, with F (ret) at +0x40. A run stopping at F (due) resumes,
  // after the jit ran F, from the call's entry (Interpreter::tier_resume_), whose next entry
  // in the pool is the mov: a hint, checked against the bytes now in memory like any other.
  Machine m;
  m.load({0xE8, 0x3B, 0, 0, 0, 0xB8, 1, 0, 0, 0, 0x0F, 0x05});
  *m.as.host(kCode + 0x40) = 0xC3;  // F: ret
  *m.as.host(kCode + 0x20) = 0x0F;  // (a syscall for F's first run)
  *m.as.host(kCode + 0x21) = 0x05;
  Interpreter in(m.as.memory(), 2048);
  const uint64_t rsp = m.cpu.gpr[RSP];
  // F first (so that the call's fall-through is decoded right after the call), returning to
  // the syscall at +0x20; then the whole program once: F entered twice.
  m.cpu.rip = kCode + 0x40;
  m.cpu.gpr[RSP] = rsp - 8;
  const uint64_t to_syscall = kCode + 0x20;
  std::memcpy(m.as.host(rsp - 8), &to_syscall, 8);
  Interpreter::TierRun first = tier_run(1000);
  ASSERT_EQ(in.run_tier(m.cpu, first), StopReason::Syscall);
  m.cpu.rip = kCode;
  m.cpu.gpr[RSP] = rsp;
  Interpreter::TierRun whole = tier_run(1000);
  ASSERT_EQ(in.run_tier(m.cpu, whole), StopReason::Syscall);
  EXPECT_EQ(m.cpu.gpr[RAX], 1u);
  const uint64_t misses = in.decode_misses();
  for (uint8_t imm : {1, 9}) {
    // F's third entry is due: the run stops there, after the call.
    m.cpu.rip = kCode;
    m.cpu.gpr[RSP] = rsp;
    m.cpu.gpr[RAX] = 0;
    Interpreter::TierRun to_f = tier_run(imm == 1 ? 3 : 4);  // (kCode, entered 2 then 3 times before, must not be due)
    ASSERT_EQ(in.run_tier(m.cpu, to_f), StopReason::InstructionLimit);
    ASSERT_TRUE(to_f.due);
    ASSERT_EQ(m.cpu.rip, kCode + 0x40);
    // The jit runs F's translation (a ret); meanwhile the mov's immediate may change.
    m.cpu.rip = kCode + 5;
    m.cpu.gpr[RSP] += 8;
    *m.as.host(kCode + 6) = imm;
    Interpreter::TierRun back = tier_run(1000);
    const uint64_t insns = m.cpu.insn_count;
    ASSERT_EQ(in.run_tier(m.cpu, back), StopReason::Syscall);
    EXPECT_EQ(m.cpu.gpr[RAX], imm);
    EXPECT_EQ(m.cpu.insn_count, insns + 2);
    // The same bytes are found again; changed ones are decoded again (once).
    EXPECT_EQ(in.decode_misses(), misses + (imm == 1 ? 0 : 1));
  }
}

}  // namespace
}  // namespace vireo::test
