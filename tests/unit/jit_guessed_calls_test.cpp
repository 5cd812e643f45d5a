// Indirect calls guessed at translation time (docs/jit.md, "Indirect calls guessed at
// translation time"): a `call reg`/`call [mem]` whose target the block's entry state tells is
// a compare with that guess, then the direct call (its callee followed into the block when it
// comes back); any other target leaves by a side exit to the call itself. Each case runs on
// the jit and on the interpreter from the same state and must end the same; the jump cache's
// lookups show whether the calls and returns went through it.
#include "jit_harness.h"

namespace vireo::test {
namespace {

struct Outcome {
  StopReason r;
  CpuState cpu;
  std::vector<uint8_t> data;
  uint64_t lookups = 0;
  struct {
    uint64_t guessed_calls = 0, guess_misses = 0, guess_sites_dropped = 0, guess_blocks_dropped = 0;
  } stats;
};

// The code is made read-only (a program's text: only code the guest cannot write is guessed)
// unless `writable`.
Outcome run_on(bool jit, const std::vector<uint8_t>& code, const CpuState& start, bool follow_calls = true,
               bool writable = false) {
  Machine m;
  m.load(code);
  if (!writable) m.as.mprotect(kCode, 0x10000, PROT_READ | PROT_EXEC);
  m.cpu = start;
  m.cpu.rip = kCode;
  jit::JitOptions opts;
  opts.follow_calls = follow_calls;  // (also what lets the translator guess)
  std::unique_ptr<Engine> e;
  if (jit) e = std::make_unique<jit::JitEngine>(m.as.memory(), opts);
  else e = std::make_unique<Interpreter>(m.as.memory());
  Outcome o;
  o.r = e->run(m.cpu);
  o.cpu = m.cpu;
  o.data.assign(m.as.host(kData), m.as.host(kData) + 0x10000);
  if (jit) {
    const jit::JitStats& s = static_cast<jit::JitEngine&>(*e).stats();
    o.lookups = s.jump_cache_hits + s.jump_cache_misses;
    o.stats = {s.guessed_calls, s.guess_misses, s.guess_sites_dropped, s.guess_blocks_dropped};
  }
  return o;
}

void expect_same(const Outcome& jit, const Outcome& ref) {
  expect_same_stop(jit.r, jit.cpu, ref.r, ref.cpu);
  EXPECT_TRUE(jit.data == ref.data);
}

// l: mov rdi, rcx; call r13; add rdx, rax; dec ecx; jnz l; syscall — then the callees at
// kCode + 0x100 (f) and kCode + 0x200 (g).
std::vector<uint8_t> loop_program(const std::vector<uint8_t>& f, const std::vector<uint8_t>& g) {
  std::vector<uint8_t> code = cat({{0x48, 0x89, 0xCF, 0x41, 0xFF, 0xD5, 0x48, 0x01, 0xC2, 0xFF, 0xC9, 0x75, 0xF3}, kSyscall});
  code.resize(0x100, 0xCC);
  code.insert(code.end(), f.begin(), f.end());
  code.resize(0x200, 0xCC);
  code.insert(code.end(), g.begin(), g.end());
  return code;
}

CpuState state(uint64_t seed) {
  CpuState s = random_state(seed);
  s.gpr[RSP] = kData + 0x8000;
  s.gpr[RDX] = 0;
  s.gpr[RCX] = 40;
  s.gpr[R13] = kCode + 0x100;
  s.gpr[R14] = kCode + 0x200;
  return s;
}

const std::vector<uint8_t> kXchgR13R14 = {0x4D, 0x87, 0xEE};

TEST(JitGuessedCalls, AMonomorphicSiteTakesNoJumpCacheLookups) {
  // f: mov eax, 0x11; ret. The loop's block guesses f, follows it and matches its return.
  const auto code = loop_program({0xB8, 0x11, 0x00, 0x00, 0x00, 0xC3}, {0xC3});
  const CpuState s = state(1);
  const Outcome jit = run_on(true, code, s), ref = run_on(false, code, s), plain = run_on(true, code, s, false);
  expect_same(jit, ref);
  expect_same(plain, ref);
  EXPECT_EQ(jit.r, StopReason::Syscall);
  EXPECT_EQ(jit.cpu.gpr[RDX], 40u * 0x11);
  EXPECT_EQ(jit.lookups, 0u);
  EXPECT_GE(plain.lookups, 2u * 39);  // each call and its return through the jump cache
}

TEST(JitGuessedCalls, CodeTheGuestCanWriteIsNotGuessed) {
  // The same loop in writable memory (a guest JIT's code, replaced while a site calls it):
  // each call and its return go through the jump cache.
  const auto code = loop_program({0xB8, 0x11, 0x00, 0x00, 0x00, 0xC3}, {0xC3});
  const CpuState s = state(1);
  const Outcome jit = run_on(true, code, s, true, true), ref = run_on(false, code, s, true, true);
  expect_same(jit, ref);
  EXPECT_EQ(jit.cpu.gpr[RDX], 40u * 0x11);
  EXPECT_GE(jit.lookups, 2u * 39);
}

TEST(JitGuessedCalls, ASiteThatAlternatesTargetsLeavesForTheCallOnAMiss) {
  // f: mov eax, 0x11; xchg r13, r14; ret. g: mov eax, 0x22; xchg r13, r14; ret: the site
  // calls f, g, f, g, ...; the guess (f) misses every other trip.
  const auto code = loop_program(cat({{0xB8, 0x11, 0x00, 0x00, 0x00}, kXchgR13R14, {0xC3}}),
                                 cat({{0xB8, 0x22, 0x00, 0x00, 0x00}, kXchgR13R14, {0xC3}}));
  const CpuState s = state(2);
  const Outcome jit = run_on(true, code, s), ref = run_on(false, code, s);
  expect_same(jit, ref);
  EXPECT_EQ(jit.r, StopReason::Syscall);
  EXPECT_EQ(jit.cpu.gpr[RDX], 20u * 0x11 + 20u * 0x22);
}

// A site that keeps missing (guess_sites.h): each miss is counted, and after
// GuessSites::kMissesToDrop of them the block goes and the site is translated without a guess.
// So the misses stop: as many in a run of 2,000 trips as in one of 200.
TEST(JitGuessedCalls, ASiteThatKeepsMissingIsDroppedAndNoLongerGuessed) {
  const auto code = loop_program(cat({{0xB8, 0x11, 0x00, 0x00, 0x00}, kXchgR13R14, {0xC3}}),
                                 cat({{0xB8, 0x22, 0x00, 0x00, 0x00}, kXchgR13R14, {0xC3}}));
  uint64_t misses[2] = {};
  for (int k = 0; k < 2; ++k) {
    CpuState s = state(5);
    const uint32_t trips = k == 0 ? 200 : 2000;
    s.gpr[RCX] = trips;
    const Outcome jit = run_on(true, code, s), ref = run_on(false, code, s);
    expect_same(jit, ref);
    EXPECT_EQ(jit.r, StopReason::Syscall);
    EXPECT_EQ(jit.cpu.gpr[RDX], trips / 2 * (0x11u + 0x22u));
    EXPECT_GE(jit.stats.guessed_calls, 1u);
    EXPECT_EQ(jit.stats.guess_sites_dropped, 1u);
    EXPECT_GE(jit.stats.guess_blocks_dropped, 1u);
    EXPECT_GE(jit.stats.guess_misses, uint64_t(jit::GuessSites::kMissesToDrop));
    // (a block translated with the guess before the drop may miss once more, and goes too)
    EXPECT_LE(jit.stats.guess_misses, uint64_t(jit::GuessSites::kMissesToDrop) + jit.stats.guess_blocks_dropped);
    // From then on the call and its return go through the jump cache.
    EXPECT_GE(jit.lookups, trips);
    misses[k] = jit.stats.guess_misses;
  }
  EXPECT_EQ(misses[0], misses[1]);
}

// A monomorphic site counts its guess and no miss; the dropped-site set stays empty.
TEST(JitGuessedCalls, AMonomorphicSiteNeverMisses) {
  const auto code = loop_program({0xB8, 0x11, 0x00, 0x00, 0x00, 0xC3}, {0xC3});
  CpuState s = state(6);
  s.gpr[RCX] = 500;
  const Outcome jit = run_on(true, code, s);
  EXPECT_EQ(jit.cpu.gpr[RDX], 500u * 0x11);
  EXPECT_GE(jit.stats.guessed_calls, 1u);
  EXPECT_EQ(jit.stats.guess_misses, 0u);
  EXPECT_EQ(jit.stats.guess_sites_dropped, 0u);
}

// A site whose target changes once (a phase: a callback pointer replaced for good) misses
// until it is dropped, then runs as an ordinary indirect call to the new target.
TEST(JitGuessedCalls, ASiteWhoseTargetChangesForGoodIsDropped) {
  // f: mov eax, 0x11; cmp ecx, 100; jne +3; xchg r13, r14; ret — after the first 300 trips
  // (rcx from 400 down to 100), f hands the site to g for the rest. g: mov eax, 0x22; ret.
  const auto code = loop_program(cat({{0xB8, 0x11, 0x00, 0x00, 0x00, 0x83, 0xF9, 0x64, 0x75, 0x03}, kXchgR13R14, {0xC3}}),
                                 {0xB8, 0x22, 0x00, 0x00, 0x00, 0xC3});
  CpuState s = state(7);
  s.gpr[RCX] = 400;
  const Outcome jit = run_on(true, code, s), ref = run_on(false, code, s);
  expect_same(jit, ref);
  EXPECT_EQ(jit.cpu.gpr[RDX], 301u * 0x11 + 99u * 0x22);
  EXPECT_EQ(jit.stats.guess_sites_dropped, 1u);
  EXPECT_GE(jit.stats.guess_misses, uint64_t(jit::GuessSites::kMissesToDrop));
  EXPECT_LE(jit.stats.guess_misses, uint64_t(jit::GuessSites::kMissesToDrop) + jit.stats.guess_blocks_dropped);
}

TEST(JitGuessedCalls, AMissToANonCanonicalTargetIsTheCallsGP) {
  // f swaps r13 with r14, which is not canonical: the second call's #GP at the call, nothing
  // pushed, as the interpreter raises it.
  const auto code = loop_program(cat({{0xB8, 0x11, 0x00, 0x00, 0x00}, kXchgR13R14, {0xC3}}), {0xC3});
  CpuState s = state(3);
  s.gpr[R14] = 0x8000000000001000ull;
  const Outcome jit = run_on(true, code, s), ref = run_on(false, code, s);
  expect_same(jit, ref);
  EXPECT_EQ(jit.r, StopReason::Fault);
  EXPECT_EQ(jit.cpu.rip, kCode + 3);
  EXPECT_EQ(jit.cpu.gpr[RCX], 39u);
}

TEST(JitGuessedCalls, ATargetLoadedFromTheStackIsGuessedAndChecked) {
  // l: mov rdi, rcx; mov rax, [rsp+8]; call rax; add rdx, rax; mov [rsp+8], r14 (the next
  // call's target: g from the second trip on); dec ecx; jnz l; syscall.
  std::vector<uint8_t> code = cat({{0x48, 0x89, 0xCF, 0x48, 0x8B, 0x44, 0x24, 0x08, 0xFF, 0xD0, 0x48, 0x01, 0xC2,
                                    0x4C, 0x89, 0x74, 0x24, 0x08, 0xFF, 0xC9, 0x75, 0xEA},
                                   kSyscall});
  code.resize(0x100, 0xCC);
  for (uint8_t b : {0xB8, 0x11, 0x00, 0x00, 0x00, 0xC3}) code.push_back(b);
  code.resize(0x200, 0xCC);
  for (uint8_t b : {0xB8, 0x22, 0x00, 0x00, 0x00, 0xC3}) code.push_back(b);
  CpuState s = state(4);
  s.rip = kCode;
  const Outcome ref = [&] {
    Machine m;
    m.load(code);
    m.cpu = s;
    uint64_t f = kCode + 0x100;
    std::memcpy(m.as.host(s.gpr[RSP] + 8), &f, 8);
    m.as.mprotect(kCode, 0x10000, PROT_READ | PROT_EXEC);
    Interpreter in(m.as.memory());
    Outcome o;
    o.r = in.run(m.cpu);
    o.cpu = m.cpu;
    o.data.assign(m.as.host(kData), m.as.host(kData) + 0x10000);
    return o;
  }();
  Machine m;
  m.load(code);
  m.cpu = s;
  uint64_t f = kCode + 0x100;
  std::memcpy(m.as.host(s.gpr[RSP] + 8), &f, 8);
  m.as.mprotect(kCode, 0x10000, PROT_READ | PROT_EXEC);
  jit::JitEngine e(m.as.memory(), jit::JitOptions{});
  Outcome jit;
  jit.r = e.run(m.cpu);
  jit.cpu = m.cpu;
  jit.data.assign(m.as.host(kData), m.as.host(kData) + 0x10000);
  expect_same(jit, ref);
  EXPECT_EQ(jit.r, StopReason::Syscall);
  EXPECT_EQ(jit.cpu.gpr[RDX], 0x11u + 39u * 0x22);
  const jit::JitStats& st = e.stats();
  // The loop's block guessed f and misses from the second trip on; the miss runs the call in
  // a block of its own, g's return goes through the jump cache to the block after the call,
  // which follows the back edge into the loop again: there the load of the slot sees the
  // block's own store of r14 before it, so that block guesses g, and the rest of the trips
  // take no lookup.
  EXPECT_LE(st.jump_cache_hits + st.jump_cache_misses, 4u);
}

}  // namespace
}  // namespace vireo::test
