// The jit's young forked child (Interpreter::TierRun::keep_inherited) and its parent's decode
// cache: the pool, the index and the memo are the parent's pages, copy-on-write, so the child
// stores nothing into what it inherited (no head counts, no `next` hints that are there already,
// no index or memo slots), keeps its own decodes in a small index of its own, and still finds
// them again (issue 22: bash_script's subshells paid a page copy per such store).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jit_harness.h"

namespace vireo::test {
namespace {

// kCalls calls of one function (`ret`), then `syscall`. Every call's pool entry holds a `next`
// hint to the function's entry (the entry after it is the next call's): kCalls entries of 128
// bytes, ~47 pages, that the child's run reads hints from and does not need to write.
constexpr int kCalls = 1500;
constexpr uint64_t kFunction = kCode + 0x2000;

std::vector<uint8_t> calls_program() {
  std::vector<uint8_t> code(0x2001, 0x90);
  for (int i = 0; i < kCalls; ++i) {
    const uint64_t at = kCode + uint64_t(i) * 5;
    const int32_t rel = int32_t(kFunction - (at + 5));
    code[size_t(i) * 5] = 0xE8;
    std::memcpy(&code[size_t(i) * 5 + 1], &rel, 4);
  }
  code[size_t(kCalls) * 5] = 0x0F;
  code[size_t(kCalls) * 5 + 1] = 0x05;
  code[0x2000] = 0xC3;
  return code;
}

long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// The state after the first run, pointed at the code's start again (a second run over the same
// code, in a child).
CpuState restart_state(const CpuState& after) {
  CpuState c = after;
  c.rip = kCode;
  c.insn_count = 0;
  return c;
}

// Runs `child` in a forked process and returns what it returned (0-255).
template <class F>
int in_child(F child) {
  const pid_t pid = fork();
  if (pid == 0) _exit(child());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

TEST(InterpForkedChild, RunningItsParentsCodeCopiesNoneOfTheDecodeCache) {
  Machine m;
  m.load(calls_program());
  // (an index of 16,384 slots: the code lies in 16 KB, so no two of its rips share a slot)
  Interpreter in(m.as.memory(), 1 << 14);
  Interpreter::TierRun parent;
  parent.translate_at = 1u << 20;
  ASSERT_EQ(in.run_tier(m.cpu, parent), StopReason::Syscall);
  const uint64_t misses = in.decode_misses();
  ASSERT_EQ(misses, kCalls + 2u);
  in.mark_inherited();
  const CpuState start = restart_state(m.cpu);
  // Faults of a keep_inherited run over the same code, in a child: the calls' ~47 pages of
  // entries (their hints, their head counts) are not written; the function's entry is (its
  // hint to the return address changes at every call). What the child does write (its CpuState, the
  // guest stack, the host stack, the interpreter's members) is a few pages.
  const int faults = in_child([&] {
    m.cpu = start;
    Interpreter::TierRun child;
    child.translate_at = 1u << 20;
    child.keep_inherited = true;
    const long before = minor_faults();
    if (in.run_tier(m.cpu, child) != StopReason::Syscall || in.decode_misses() != misses) return 254;
    return int(std::min<long>(minor_faults() - before, 253));
  });
  EXPECT_LT(faults, 24);
  // The same run in a child that is not young (its counts and hints are stored as usual) still
  // decodes nothing; the hints are all there already, so it writes only the head counts.
  const int grown = in_child([&] {
    m.cpu = start;
    Interpreter::TierRun child;
    child.translate_at = 1u << 20;
    if (in.run_tier(m.cpu, child) != StopReason::Syscall || in.decode_misses() != misses) return 254;
    return 0;
  });
  EXPECT_EQ(grown, 0);
}

// The forking parent's side (TierRun::keep_inherited without own_decodes): after a fork it
// shares the same pages with its child, and its run over the code it decoded before stores
// nothing there either (run here in a child of the test, whose pages are shared the same way).
TEST(InterpForkedChild, AForkingParentsRunCopiesNoneOfTheDecodeCache) {
  Machine m;
  m.load(calls_program());
  Interpreter in(m.as.memory(), 1 << 14);
  Interpreter::TierRun first;
  first.translate_at = 1u << 20;
  ASSERT_EQ(in.run_tier(m.cpu, first), StopReason::Syscall);
  const uint64_t misses = in.decode_misses();
  in.mark_inherited();
  const CpuState start = restart_state(m.cpu);
  auto run = [&](bool keep) {
    return in_child([&] {
      m.cpu = start;
      Interpreter::TierRun parent;
      parent.translate_at = 1u << 20;
      parent.keep_inherited = keep;
      parent.own_decodes = false;
      const long before = minor_faults();
      if (in.run_tier(m.cpu, parent) != StopReason::Syscall || in.decode_misses() != misses) return 254;
      return int(std::min<long>(minor_faults() - before, 253));
    });
  };
  const int kept = run(true);
  EXPECT_LT(kept, 24);
  // Counting as before the fork writes every call's head count: a page copy per ~32 entries.
  const int counted = run(false);
  EXPECT_GT(counted, kept + 30);
}

// A forking parent's new decodes go to the shared index and memo (own_decodes off): found again
// and copied from as before the fork, with no index of its own.
TEST(InterpForkedChild, AForkingParentsNewDecodesAreIndexedAsUsual) {
  Machine m;
  std::vector<uint8_t> code(0x300, 0x90);
  const std::vector<uint8_t> small = {0xB8, 1, 0, 0, 0, 0x83, 0xC0, 0x02, 0x0F, 0x05};
  std::copy(small.begin(), small.end(), code.begin());
  std::copy(small.begin(), small.end(), code.begin() + 0x100);
  std::copy(small.begin(), small.end(), code.begin() + 0x200);
  m.load(code);
  Interpreter in(m.as.memory(), 2048);
  auto run = [&](uint64_t at, bool keep) {
    m.cpu.rip = at;
    Interpreter::TierRun r;
    r.translate_at = 1000;
    r.keep_inherited = keep;
    r.own_decodes = false;
    EXPECT_EQ(in.run_tier(m.cpu, r), StopReason::Syscall);
    EXPECT_EQ(m.cpu.gpr[RAX], 3u);
  };
  run(kCode, false);
  in.mark_inherited();
  run(kCode + 0x100, true);
  EXPECT_EQ(in.decode_misses(), 6u);
  EXPECT_EQ(in.decode_copies(), 3u);
  run(kCode + 0x100, true);
  EXPECT_EQ(in.decode_misses(), 6u);
  EXPECT_FALSE(in.has_own_index());
}

// mov eax, 1 ; add eax, 2 ; syscall — the same bytes at two addresses.
const std::vector<uint8_t> kSmall = {0xB8, 1, 0, 0, 0, 0x83, 0xC0, 0x02, 0x0F, 0x05};

TEST(InterpForkedChild, ItsOwnDecodesAreFoundAgainButNotCopied) {
  Machine m;
  std::vector<uint8_t> code(0x300, 0x90);
  std::copy(kSmall.begin(), kSmall.end(), code.begin());           // the parent's, at kCode
  std::copy(kSmall.begin(), kSmall.end(), code.begin() + 0x100);   // the child's, twice
  std::copy(kSmall.begin(), kSmall.end(), code.begin() + 0x200);
  m.load(code);
  Interpreter in(m.as.memory(), 2048);
  auto run = [&](uint64_t at, bool young) {
    m.cpu.rip = at;
    Interpreter::TierRun r;
    r.translate_at = 1000;
    r.keep_inherited = young;
    EXPECT_EQ(in.run_tier(m.cpu, r), StopReason::Syscall);
    EXPECT_EQ(m.cpu.gpr[RAX], 3u);
  };
  run(kCode, false);
  EXPECT_EQ(in.decode_misses(), 3u);
  EXPECT_EQ(in.decode_copies(), 0u);
  in.mark_inherited();
  // The child's decodes at +0x100 copy the parent's (the memo is read)...
  run(kCode + 0x100, true);
  EXPECT_EQ(in.decode_misses(), 6u);
  EXPECT_EQ(in.decode_copies(), 3u);
  // ...and are found again through its own index, not decoded again.
  run(kCode + 0x100, true);
  EXPECT_EQ(in.decode_misses(), 6u);
  // They were not noted in the memo: the same bytes at +0x200 copy the parent's entries still
  // (which they could not tell apart from the child's, so this counts copies, not sources),
  // and run right.
  run(kCode + 0x200, true);
  EXPECT_EQ(in.decode_misses(), 9u);
  EXPECT_EQ(in.decode_copies(), 6u);
  // Grown up, the child's decodes go to the index again.
  run(kCode + 0x200, false);
  EXPECT_EQ(in.decode_misses(), 9u);
}

}  // namespace
}  // namespace vireo::test
