// A `jmp` through a read-only jump table as a multi-way chainable exit (frontend/jump_table.h,
// docs/jit.md "Translation cache, chaining, jump cache"): the block's `jmp [exits + index*8]`
// leads straight to the entry's block, with no jump-cache probe; a table the guest can write
// stays an ordinary indirect jump; an entry that is not canonical raises the #GP at the jmp;
// lua's form (the table's address in a register, the index masked by `and eax, 0x7f`) is one.
// Each case runs on the jit and on the interpreter from the same state and must end the same.
#include <algorithm>

#include "jit_harness.h"

namespace vireo::test {
namespace {

struct Outcome {
  StopReason r;
  CpuState cpu;
  uint64_t lookups = 0, chains = 0;
};

constexpr uint64_t kTable = kCode + 0x800;  // 256 entries of 8 bytes

// l: movzx eax, byte [rdi + rcx]; jmp [rax*8 + kTable]; then four handlers at l + 0x20, 0x40,
// 0x60, 0x80, each `op rdx; dec ecx; jnz l; syscall` (add 1, add 100, imul 3, xor 0x55).
// `masked`: lua's dispatch instead, l: mov eax, [rdi + rcx*4]; and eax, 0x7f; mov rax,
// [rsi + rax*8]; jmp rax (rsi = kTable), before the same handlers.
std::vector<uint8_t> program(bool masked = false) {
  std::vector<uint8_t> code = {
      0x0f, 0xb6, 0x04, 0x0f, 0xff, 0x24, 0xc5, 0x00, 0x08, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0x83, 0xc2, 0x01,
      0xff, 0xc9, 0x75, 0xd8, 0x0f, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0x83, 0xc2, 0x64, 0xff, 0xc9, 0x75, 0xb8,
      0x0f, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0x6b, 0xd2, 0x03, 0xff, 0xc9, 0x75, 0x98, 0x0f, 0x05, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x48, 0x83, 0xf2, 0x55, 0xff, 0xc9, 0x0f, 0x85, 0x74, 0xff, 0xff, 0xff, 0x0f, 0x05};
  if (masked) {
    const uint8_t lua[] = {0x8b, 0x04, 0x8f, 0x83, 0xe0, 0x7f, 0x48, 0x8b, 0x04, 0xc6, 0xff, 0xe0};
    std::fill(code.begin(), code.begin() + 0x20, uint8_t(0));
    std::copy(std::begin(lua), std::end(lua), code.begin());
  }
  code.resize(kTable - kCode);
  for (int i = 0; i < 256; ++i) {
    const uint64_t entry = kCode + 0x20 + 0x20 * uint64_t(i % 4);
    for (int b = 0; b < 8; ++b) code.push_back(uint8_t(entry >> (8 * b)));
  }
  return code;
}

// The bytecode at kData + 1 .. kData + n (rcx counts down from n), from a fixed pattern.
// `masked`: dwords at kData + 4, + 8, ..., with bits above the mask's set.
void bytecode(Machine& m, uint32_t n, uint8_t poison_at = 0, uint8_t poison = 0, bool masked = false) {
  if (masked) {
    for (uint32_t i = 1; i <= n; ++i) {
      const uint32_t word = uint32_t((i * 7 + i / 5) % 4) | 0x80u | (i << 8);
      std::memcpy(m.as.host(kData) + 4 * i, &word, 4);
    }
    return;
  }
  for (uint32_t i = 1; i <= n; ++i) m.as.host(kData)[i] = uint8_t((i * 7 + i / 5) % 4);
  if (poison_at) m.as.host(kData)[poison_at] = poison;
}

// The table's page read-only (the code's, PROT_READ | PROT_EXEC) unless `writable`; `patch`
// rewrites entry `entry` of the table first.
Outcome run_on(bool jit, bool writable, uint32_t n, uint8_t poison_at = 0, uint8_t poison = 0,
               uint64_t patch_value = 0, int patch_entry = -1, bool masked = false) {
  Machine m;
  std::vector<uint8_t> code = program(masked);
  if (patch_entry >= 0)
    for (int b = 0; b < 8; ++b) code[kTable - kCode + 8 * size_t(patch_entry) + size_t(b)] = uint8_t(patch_value >> (8 * b));
  m.load(code);
  if (!writable) m.as.mprotect(kCode, 0x10000, PROT_READ | PROT_EXEC);
  bytecode(m, n, poison_at, poison, masked);
  m.cpu = random_state(7);
  m.cpu.rip = kCode;
  m.cpu.gpr[RSP] = kData + 0x8000;
  m.cpu.gpr[RDI] = kData;
  if (masked) m.cpu.gpr[RSI] = kTable;
  m.cpu.gpr[RCX] = n;
  m.cpu.gpr[RDX] = 3;
  std::unique_ptr<Engine> e;
  if (jit) e = std::make_unique<jit::JitEngine>(m.as.memory(), jit::JitOptions{});
  else e = std::make_unique<Interpreter>(m.as.memory());
  Outcome o;
  o.r = e->run(m.cpu);
  o.cpu = m.cpu;
  if (jit) {
    const jit::JitStats& s = static_cast<jit::JitEngine&>(*e).stats();
    o.lookups = s.jump_cache_hits + s.jump_cache_misses;
    o.chains = s.chains_patched;
  }
  return o;
}

TEST(JitJumpTables, AReadOnlyTableDispatchesWithoutTheJumpCache) {
  const Outcome jit = run_on(true, false, 4000), ref = run_on(false, false, 4000);
  expect_same_stop(jit.r, jit.cpu, ref.r, ref.cpu);
  EXPECT_EQ(jit.r, StopReason::Syscall);
  EXPECT_EQ(jit.lookups, 0u);  // every dispatch went through the block's table of exits
  EXPECT_GE(jit.chains, 4u);   // (its four entries in use, at least, were chained)
}

TEST(JitJumpTables, ARegisterBasedTableIndexedThroughAMaskIsOne) {
  // (the index is ZeroExt32(And(x, 0x7f)): its bound is the mask's, passes::upper_bound)
  const Outcome jit = run_on(true, false, 4000, 0, 0, 0, -1, true), ref = run_on(false, false, 4000, 0, 0, 0, -1, true);
  expect_same_stop(jit.r, jit.cpu, ref.r, ref.cpu);
  EXPECT_EQ(jit.r, StopReason::Syscall);
  EXPECT_EQ(jit.lookups, 0u);
  EXPECT_GE(jit.chains, 4u);
  const Outcome wjit = run_on(true, true, 4000, 0, 0, 0, -1, true), wref = run_on(false, true, 4000, 0, 0, 0, -1, true);
  expect_same_stop(wjit.r, wjit.cpu, wref.r, wref.cpu);
  EXPECT_GT(wjit.lookups, 1000u);  // (writable: the jump cache)
}

TEST(JitJumpTables, AWritableTableStaysAnIndirectJump) {
  const Outcome jit = run_on(true, true, 4000), ref = run_on(false, true, 4000);
  expect_same_stop(jit.r, jit.cpu, ref.r, ref.cpu);
  EXPECT_GT(jit.lookups, 1000u);  // the jump cache, every dispatch
}

TEST(JitJumpTables, ANonCanonicalEntryFaultsAtTheJmp) {
  // Entry 200, taken once the loop is hot (rcx = 100: bytecode[100]), holds a non-canonical
  // address: a #GP at the jmp, rip at the jmp, rax the index, as the interpreter has it.
  for (uint64_t bad : {uint64_t(0x8000000000000000ull), uint64_t(0x0000800000000000ull)}) {
    const Outcome jit = run_on(true, false, 4000, 100, 200, bad, 200);
    const Outcome ref = run_on(false, false, 4000, 100, 200, bad, 200);
    expect_same_stop(jit.r, jit.cpu, ref.r, ref.cpu);
    EXPECT_EQ(jit.r, StopReason::Fault);
    EXPECT_EQ(jit.cpu.rip, kCode + 4);
  }
}

TEST(JitJumpTables, AnEntryToAnotherPlaceGoesThere) {
  // Entry 9 leads to the syscall of the first handler, taken once the loop is hot.
  const Outcome jit = run_on(true, false, 4000, 100, 9, kCode + 0x28, 9);
  const Outcome ref = run_on(false, false, 4000, 100, 9, kCode + 0x28, 9);
  expect_same_stop(jit.r, jit.cpu, ref.r, ref.cpu);
  EXPECT_EQ(jit.r, StopReason::Syscall);
  EXPECT_EQ(jit.cpu.rip, kCode + 0x2A);  // (past that syscall, not the last handler's)
}

}  // namespace
}  // namespace vireo::test
