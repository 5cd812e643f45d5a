// The interpreter tier's block heads (Interpreter::run_tier) against an oracle that does not use
// pfx::MAY_BRANCH: the interpreter stopped after every instruction that left rip elsewhere than
// at its fall-through (set_stop_at_branch, which compares rip after each one). The tier looks
// for a head only after an instruction with the bit; it must find the same heads, stop at the
// same one for every N, with the same instruction count.
#include <gtest/gtest.h>

#include <map>

#include "jit_harness.h"

namespace vireo::test {
namespace {

// Every kind of control transfer, taken and not, and a rep string between them:
//   mov edx, 5
//   L: mov edi, kData ; mov ecx, 16 ; rep stosb ; call F ; lea rax, [rip+M] ; jmp rax ; nop
//   M: xor eax, eax ; test edx, 1 ; jz S ; add eax, 1
//   S: mov ecx, 2 ; LP: loop LP ; jrcxz J ; nop
//   J: dec edx ; jnz L ; syscall
//   F: ret
const std::vector<uint8_t> kProgram = {
    0xba, 0x05, 0x00, 0x00, 0x00, 0xbf, 0x00, 0x00, 0x02, 0x00, 0xb9, 0x10, 0x00, 0x00, 0x00, 0xf3,
    0xaa, 0xe8, 0x27, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x05, 0x03, 0x00, 0x00, 0x00, 0xff, 0xe0, 0x90,
    0x31, 0xc0, 0xf7, 0xc2, 0x01, 0x00, 0x00, 0x00, 0x74, 0x03, 0x83, 0xc0, 0x01, 0xb9, 0x02, 0x00,
    0x00, 0x00, 0xe2, 0xfe, 0xe3, 0x01, 0x90, 0xff, 0xca, 0x75, 0xca, 0x0f, 0x05, 0xc3};

struct Head {
  uint64_t rip;
  uint64_t insn_count;  // instructions run before it
};

// The heads in order, the run's first instruction included, found by stopping at each branch.
std::vector<Head> oracle_heads() {
  Machine m;
  m.load(kProgram);
  Interpreter in(m.as.memory(), 2048);
  in.set_stop_at_branch(true);
  std::vector<Head> heads = {{m.cpu.rip, 0}};
  StopReason r;
  while ((r = in.run(m.cpu)) == StopReason::InstructionLimit) heads.push_back({m.cpu.rip, m.cpu.insn_count});
  EXPECT_EQ(r, StopReason::Syscall);
  return heads;
}

TEST(InterpTierHeads, TheTierFindsTheHeadsABranchStopFinds) {
  const std::vector<Head> heads = oracle_heads();
  // mov, then per iteration L, F, the return, M, S (taken on even edx), LP, J, and L again.
  ASSERT_GT(heads.size(), 30u);
  Machine m;
  m.load(kProgram);
  Interpreter in(m.as.memory(), 2048);
  Interpreter::TierRun run;
  run.translate_at = 1000;
  ASSERT_EQ(in.run_tier(m.cpu, run), StopReason::Syscall);
  EXPECT_EQ(run.heads, heads.size());
}

TEST(InterpTierHeads, EveryNStopsAtTheHeadsNthEntry) {
  const std::vector<Head> heads = oracle_heads();
  for (uint32_t n = 2; n <= 7; ++n) {
    // Where the tier is due: the first head entered for the Nth time.
    std::map<uint64_t, uint32_t> entries;
    const Head* due = nullptr;
    uint64_t counted = 0;
    for (const Head& h : heads) {
      if (++entries[h.rip] == n) {
        due = &h;
        break;
      }
      ++counted;
    }
    Machine m;
    m.load(kProgram);
    Interpreter in(m.as.memory(), 2048);
    Interpreter::TierRun run;
    run.translate_at = n;
    const StopReason r = in.run_tier(m.cpu, run);
    if (!due) {
      EXPECT_EQ(r, StopReason::Syscall) << n;
      continue;
    }
    ASSERT_EQ(r, StopReason::InstructionLimit) << n;
    EXPECT_TRUE(run.due);
    EXPECT_EQ(m.cpu.rip, due->rip) << n;
    EXPECT_EQ(m.cpu.insn_count, due->insn_count) << n;
    EXPECT_EQ(run.heads, counted) << n;
  }
}

}  // namespace
}  // namespace vireo::test
