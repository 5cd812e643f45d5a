// Shared by the JIT unit tests: a small guest machine, and a pair of runs of the same code
// from the same state on the JIT and on the interpreter (the semantic reference).
#pragma once

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>
#include <random>
#include <vector>

#include "interp/interpreter.h"
#include "jit/jit_engine.h"
#include "mem/address_space.h"

namespace vireo::test {

constexpr uint64_t kCode = 0x10000, kData = 0x20000;

struct Machine {
  AddressSpace as;
  CpuState cpu{};
  Machine() {
    as.mmap(kCode, 0x10000, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    as.mmap(kData, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    reset_user_state(cpu);
    cpu.gpr[RSP] = kData + 0x8000;
    cpu.rip = kCode;
  }
  void load(const std::vector<uint8_t>& code) { std::memcpy(as.host(kCode), code.data(), code.size()); }
};

// Runs `code` (which must end in `syscall`) on both engines from the same state, one after the
// other (two 64 TiB guest windows do not fit in one host address space at once), and keeps
// what each left behind.
struct Pair {
  struct Result {
    StopReason r;
    CpuState cpu;
    std::vector<uint8_t> data;
  } jit, ref;
  uint64_t jit_fallbacks = 0;  // instructions the JIT left to the interpreter
  uint64_t jit_self_loops = 0;  // blocks the JIT translated as loops in place
  uint64_t jit_tails = 0;       // blocks the JIT translated with a tail
  uint64_t jit_smc_invalidated = 0;  // blocks invalidated by guest writes to their code
  uint64_t jit_regalloc_retries = 0;  // blocks translated again shorter (out of registers)

  void run(const std::vector<uint8_t>& code, const CpuState& start, jit::JitOptions o = {}) {
    for (bool use_jit : {true, false}) {
      Machine m;
      m.load(code);
      uint64_t rsp = m.cpu.gpr[RSP];
      m.cpu = start;
      if (!start.gpr[RSP]) m.cpu.gpr[RSP] = rsp;
      m.cpu.rip = kCode;
      for (int i = 0; i < 256; ++i) m.as.host(kData)[i] = uint8_t(i * 7);
      Result& res = use_jit ? jit : ref;
      if (use_jit) {
        jit::JitEngine e(m.as.memory(), o);
        res.r = e.run(m.cpu);
        jit_fallbacks = 0;
        for (uint64_t n : e.stats().fallbacks_by_mnemonic) jit_fallbacks += n;
        jit_self_loops = e.stats().self_loop_blocks;
        jit_tails = e.stats().tail_blocks;
        jit_smc_invalidated = e.stats().smc_invalidated_blocks;
        jit_regalloc_retries = e.stats().regalloc_retries;
      } else {
        Interpreter e(m.as.memory());
        res.r = e.run(m.cpu);
      }
      res.cpu = m.cpu;
      res.data.assign(m.as.host(kData), m.as.host(kData) + 0x10000);
    }
  }

  void expect_same() {
    EXPECT_EQ(jit.r, ref.r);
    EXPECT_EQ(jit.cpu.rip, ref.cpu.rip);
    for (int r = 0; r < 16; ++r) EXPECT_EQ(jit.cpu.gpr[r], ref.cpu.gpr[r]) << "gpr " << r;
    EXPECT_EQ(jit.cpu.rflags, ref.cpu.rflags);
    for (int x = 0; x < 16; ++x)
      EXPECT_EQ(std::memcmp(&jit.cpu.xmm[x], &ref.cpu.xmm[x], sizeof jit.cpu.xmm[x]), 0) << "xmm " << x;
    EXPECT_TRUE(jit.data == ref.data);
  }
};

// Two runs of the same code that must end the same: the stop, rip, the general registers,
// the flags, and a fault's vector and address.
inline void expect_same_stop(StopReason jit_r, const CpuState& jit, StopReason ref_r, const CpuState& ref) {
  EXPECT_EQ(jit_r, ref_r);
  EXPECT_EQ(jit.rip, ref.rip);
  for (int r = 0; r < 16; ++r) EXPECT_EQ(jit.gpr[r], ref.gpr[r]) << "gpr " << r;
  EXPECT_EQ(jit.rflags, ref.rflags);
  if (jit_r == StopReason::Fault && ref_r == StopReason::Fault) {
    EXPECT_EQ(jit.fault.vector, ref.fault.vector);
    EXPECT_EQ(jit.fault.address, ref.fault.address);
  }
}

inline CpuState random_state(uint64_t seed) {
  std::mt19937_64 rng(seed);
  CpuState s{};
  reset_user_state(s);
  for (int r = 0; r < 16; ++r) s.gpr[r] = rng();
  s.gpr[RSP] = kData + 0x8000;
  s.gpr[RBX] = kData + 0x100;  // a valid data pointer for memory forms
  s.rflags = flag::FIXED1 | (rng() & flag::ARITH);
  return s;
}

inline const std::vector<uint8_t> kSyscall = {0x0F, 0x05};

inline std::vector<uint8_t> cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> v;
  for (auto& p : parts) v.insert(v.end(), p.begin(), p.end());
  return v;
}

// A row of a table of instruction forms: the JIT translates it where the host has what it
// needs (`host_feature`) and may leave it to the interpreter otherwise.
struct IsaCase {
  const char* name;
  std::vector<uint8_t> bytes;
  bool host_feature;
};

// `code`, then `syscall`, on both engines from `state(seed)` for seeds 1..`seeds`: the JIT stops
// at the syscall with the interpreter's state, and without a fallback where `translated`.
template <class MakeState>
void expect_matches_interpreter(const std::vector<uint8_t>& code, uint64_t seeds, MakeState state,
                                bool translated, const char* name = "code") {
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    SCOPED_TRACE(testing::Message() << name << ", seed " << seed);
    Pair p;
    p.run(cat({code, kSyscall}), state(seed));
    ASSERT_EQ(p.jit.r, StopReason::Syscall);
    if (translated) EXPECT_EQ(p.jit_fallbacks, 0u);
    p.expect_same();
  }
}

// Each row of `cases` as expect_matches_interpreter checks it; the first fatal failure ends it.
template <class MakeState>
void expect_cases_match_interpreter(const std::vector<IsaCase>& cases, uint64_t seeds, MakeState state) {
  for (const IsaCase& c : cases) {
    expect_matches_interpreter(c.bytes, seeds, state, c.host_feature, c.name);
    if (testing::Test::HasFatalFailure()) return;
  }
}

}  // namespace vireo::test
