// Calls followed into their callee (docs/jit.md, "Calls followed into their callee"): a
// direct call's callee is translated into the caller's block and its `ret` becomes a compare
// with the call's continuation; a branch through a pointer in read-only memory (a PLT stub's
// GOT slot) goes where the pointer points. Each case runs on the jit and on the interpreter
// from the same state and must end the same; the jump cache's lookups show whether the
// returns were matched in the block (none left) or took the jump cache.
#include "jit_harness.h"

#include <functional>

namespace vireo::test {
namespace {

constexpr uint64_t kPointers = 0x40000;  // a page the tests map read-only, holding pointers

struct Outcome {
  StopReason r;
  CpuState cpu;
  std::vector<uint8_t> data;
  uint64_t lookups = 0, smc_invalidated = 0;
};

// Runs `code` (from kCode, to a syscall) on the jit or the interpreter; `pointers` are stored
// in the read-only page. With `between`, runs again from kCode after it has changed the
// machine (and told the engine, as the syscall layer's mprotect does).
Outcome run_on(bool jit, const std::vector<uint8_t>& code, const CpuState& start, bool follow_calls,
               const std::vector<uint64_t>& pointers = {},
               const std::function<void(Machine&, Engine&)>& between = nullptr) {
  Machine m;
  m.load(code);
  m.as.mmap(kPointers, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  std::memcpy(m.as.host(kPointers), pointers.data(), pointers.size() * 8);
  m.as.mprotect(kPointers, 0x1000, PROT_READ);
  m.cpu = start;
  m.cpu.rip = kCode;
  jit::JitOptions opts;
  opts.follow_calls = follow_calls;
  std::unique_ptr<Engine> e;
  if (jit) e = std::make_unique<jit::JitEngine>(m.as.memory(), opts);
  else e = std::make_unique<Interpreter>(m.as.memory());
  Outcome o;
  o.r = e->run(m.cpu);
  if (between && o.r == StopReason::Syscall) {
    between(m, *e);
    m.cpu.rip = kCode;
    o.r = e->run(m.cpu);
  }
  o.cpu = m.cpu;
  o.data.assign(m.as.host(kData), m.as.host(kData) + 0x10000);
  if (jit) {
    const jit::JitStats& s = static_cast<jit::JitEngine&>(*e).stats();
    o.lookups = s.jump_cache_hits + s.jump_cache_misses;
    o.smc_invalidated = s.smc_invalidated_blocks;
  }
  return o;
}

void expect_same(const Outcome& jit, const Outcome& ref) {
  expect_same_stop(jit.r, jit.cpu, ref.r, ref.cpu);
  EXPECT_TRUE(jit.data == ref.data);
}

// `main` at kCode, `callee` at kCode + at (on another page when at >= 0x1000).
std::vector<uint8_t> program(const std::vector<uint8_t>& main, uint64_t at, const std::vector<uint8_t>& callee) {
  std::vector<uint8_t> code = main;
  code.resize(at, 0xCC);
  code.insert(code.end(), callee.begin(), callee.end());
  return code;
}

// call rel32 from kCode + from to kCode + to.
std::vector<uint8_t> call(uint64_t from, uint64_t to) {
  const uint32_t rel = uint32_t(to - (from + 5));
  return {0xE8, uint8_t(rel), uint8_t(rel >> 8), uint8_t(rel >> 16), uint8_t(rel >> 24)};
}

CpuState state(uint64_t seed) {
  CpuState s = random_state(seed);
  s.gpr[RSP] = kData + 0x8000;
  s.gpr[RDX] = 0;
  return s;
}

TEST(JitFollowedCalls, ACalleeOnAnotherPageRewrittenByItsCallerRunsItsNewCode) {
  // call f (translates f: its page then holds code); l: call f; add rdx, rax; cmp ecx, 5;
  // jne s; mov dword [r8+1], 0x22; s: dec ecx; jnz l; syscall. f: mov eax, 0x11; ret.
  // The loop's block holds f's code and matches f's return; the loop rewrites f's immediate,
  // which must drop the loop's block too.
  const std::vector<uint8_t> loop = cat({call(0, 0x1000), call(5, 0x1000),
                                         {0x48, 0x01, 0xC2, 0x83, 0xF9, 0x05, 0x75, 0x08, 0x41, 0xC7, 0x40,
                                          0x01, 0x22, 0x00, 0x00, 0x00, 0xFF, 0xC9, 0x75, 0xE7, 0x0F, 0x05}});
  const auto code = program(loop, 0x1000, {0xB8, 0x11, 0x00, 0x00, 0x00, 0xC3});
  CpuState s = state(1);
  s.gpr[RCX] = 12;
  s.gpr[R8] = kCode + 0x1000;
  const Outcome jit = run_on(true, code, s, true), ref = run_on(false, code, s, true);
  const Outcome unfollowed = run_on(true, code, s, false);
  expect_same(jit, ref);
  expect_same(unfollowed, ref);
  EXPECT_EQ(jit.r, StopReason::Syscall);
  EXPECT_EQ(jit.cpu.gpr[RDX], 8u * 0x11 + 4u * 0x22);  // 8 calls before the rewrite, 4 after
  EXPECT_GT(jit.smc_invalidated, 0u);
  EXPECT_LT(jit.lookups, unfollowed.lookups);  // the returns matched in the loop's block
}

TEST(JitFollowedCalls, AFaultInAFollowedCalleeSeesItsPushesAndItsOwnPc) {
  // call g (a bare ret: its page then holds code); call f; syscall. f: push rbx; mov rax, [r9];
  // pop rbx; ret, with r9 unmapped, in the hole past the data, or mapped (no fault).
  const std::vector<uint8_t> main = cat({call(0, 0x1000), call(5, 0x1001), kSyscall});
  const auto code = program(main, 0x1000, {0xC3, 0x53, 0x49, 0x8B, 0x01, 0x5B, 0xC3});
  for (uint64_t r9 : {uint64_t(0x8), uint64_t(kData + 0x10000), uint64_t(kData + 0x40)}) {
    SCOPED_TRACE("r9 " + std::to_string(r9));
    CpuState s = state(2);
    s.gpr[R9] = r9;
    const Outcome jit = run_on(true, code, s, true), ref = run_on(false, code, s, true);
    expect_same(jit, ref);
    EXPECT_EQ(jit.r, r9 == kData + 0x40 ? StopReason::Syscall : StopReason::Fault);
    if (jit.r == StopReason::Syscall)  // (f's return matched in the block)
      EXPECT_LT(jit.lookups, run_on(true, code, s, false).lookups);
    if (jit.r == StopReason::Fault) {
      EXPECT_EQ(jit.cpu.rip, kCode + 0x1002);       // the load, in f
      EXPECT_EQ(jit.cpu.gpr[RSP], kData + 0x8000 - 16);  // the return address and rbx pushed
    }
  }
}

TEST(JitFollowedCalls, ACalleeReturningElsewhereLeavesAtItsRet) {
  // call g; call f; ud2; inc rdx; syscall. f: add qword [rsp], k; ret (k = 2: past the ud2;
  // k = 0: the continuation), or mov [rsp], r10; ret with r10 non-canonical (#GP at the ret,
  // rsp not popped), or mov rsp, r9; ret with r9 in the hole (#PF at the ret).
  const std::vector<uint8_t> main = cat({call(0, 0x1000), call(5, 0x1001), {0x0F, 0x0B, 0x48, 0xFF, 0xC2}, kSyscall});
  const std::vector<std::vector<uint8_t>> callees = {
      {0x48, 0x83, 0x04, 0x24, 0x02, 0xC3}, {0x48, 0x83, 0x04, 0x24, 0x00, 0xC3},
      {0x4C, 0x89, 0x14, 0x24, 0xC3}, {0x4C, 0x89, 0xCC, 0xC3}};
  for (size_t k = 0; k < callees.size(); ++k) {
    SCOPED_TRACE("callee " + std::to_string(k));
    const auto code = program(main, 0x1000, cat({{0xC3}, callees[k]}));
    CpuState s = state(3 + k);
    s.gpr[R10] = 0x8000000000001000ull;
    s.gpr[R9] = kData + 0x10000;
    const Outcome jit = run_on(true, code, s, true), ref = run_on(false, code, s, true);
    expect_same(jit, ref);
    if (k == 0) EXPECT_EQ(jit.cpu.gpr[RDX], 1u);
    if (k == 1) {
      EXPECT_EQ(jit.r, StopReason::Fault);  // (the ud2 at the continuation)
      EXPECT_LT(jit.lookups, run_on(true, code, s, false).lookups);  // (f's return matched)
    }
    if (k >= 2) {
      EXPECT_EQ(jit.r, StopReason::Fault);
      EXPECT_EQ(jit.cpu.fault.vector, k == 2 ? VEC_GP : VEC_PF);
      EXPECT_EQ(jit.cpu.rip, kCode + 0x1001 + callees[k].size() - 1);  // the ret
    }
  }
}

TEST(JitFollowedCalls, ACallThroughAReadOnlyPointerFollowsItUntilThePageChanges) {
  // call g; call [kPointers]; syscall, with the pointer to f1: inc rdx; ret. Then the page is
  // made writable, the pointer set to f2: add rdx, 0x10; ret, the page read-only again (the
  // engine told, as mprotect's syscall does), and the same code runs again.
  const std::vector<uint8_t> main = cat({call(0, 0x1000), {0xFF, 0x14, 0x25, 0x00, 0x00, 0x04, 0x00}, kSyscall});
  const auto code = program(main, 0x1000, {0xC3, 0x48, 0xFF, 0xC2, 0xC3, 0x48, 0x83, 0xC2, 0x10, 0xC3});
  auto repoint = [](Machine& m, Engine& e) {
    m.as.mprotect(kPointers, 0x1000, PROT_READ | PROT_WRITE);
    const uint64_t f2 = kCode + 0x1005;
    std::memcpy(m.as.host(kPointers), &f2, 8);
    m.as.mprotect(kPointers, 0x1000, PROT_READ);
    e.invalidate(kPointers, 0x1000);
  };
  const CpuState s = state(7);
  const Outcome jit = run_on(true, code, s, true, {kCode + 0x1001}, repoint);
  const Outcome ref = run_on(false, code, s, true, {kCode + 0x1001}, repoint);
  const Outcome unfollowed = run_on(true, code, s, false, {kCode + 0x1001}, repoint);
  expect_same(jit, ref);
  expect_same(unfollowed, ref);
  EXPECT_EQ(jit.cpu.gpr[RDX], 0x11u);  // f1, then f2
  EXPECT_LT(jit.lookups, unfollowed.lookups);
}

TEST(JitFollowedCalls, ACallThroughAWritablePointerTakesWhatItHoldsEachTime) {
  // l: call [rbx]; mov [rbx], r13; dec ecx; jnz l; syscall: the pointer is in writable memory,
  // so the call stays indirect and the second call goes to f2.
  const std::vector<uint8_t> main = {0xFF, 0x13, 0x4C, 0x89, 0x2B, 0xFF, 0xC9, 0x75, 0xF7, 0x0F, 0x05};
  const auto code = program(main, 0x1000, {0x48, 0xFF, 0xC2, 0xC3, 0x48, 0x83, 0xC2, 0x10, 0xC3});
  CpuState s = state(8);
  s.gpr[RCX] = 3;
  s.gpr[RBX] = kData + 0x200;
  s.gpr[R13] = kCode + 0x1004;
  auto run = [&](bool jit) {
    Machine m;
    m.load(code);
    const uint64_t f1 = kCode + 0x1000;
    std::memcpy(m.as.host(kData + 0x200), &f1, 8);
    m.cpu = s;
    m.cpu.rip = kCode;
    Outcome o;
    if (jit) {
      jit::JitEngine e(m.as.memory(), jit::JitOptions{});
      o.r = e.run(m.cpu);
    } else {
      Interpreter e(m.as.memory());
      o.r = e.run(m.cpu);
    }
    o.cpu = m.cpu;
    o.data.assign(m.as.host(kData), m.as.host(kData) + 0x10000);
    return o;
  };
  const Outcome jit = run(true), ref = run(false);
  expect_same(jit, ref);
  EXPECT_EQ(jit.cpu.gpr[RDX], 0x21u);  // f1, f2, f2
}

}  // namespace
}  // namespace vireo::test
