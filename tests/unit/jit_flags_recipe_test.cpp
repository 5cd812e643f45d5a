// Flags recipes of the jit (issue 22, "Flags recipes, second pass"): an imul's CF and OF are
// not computed where the imul runs but re-run where something reads them, and leave a block
// as a recipe in CpuState's second layer (kLazyImulFirst: the operation and both operands).
// Every way there is to read them must see the interpreter's flags, bit for bit.
#include <gtest/gtest.h>

#include <random>

#include "cpu/flags.h"
#include "jit/backend/x64/emitter.h"
#include "jit/cache/code_cache.h"
#include "jit/cache/translated_block.h"
#include "jit_harness.h"

namespace vireo::test {
namespace {

// Operands that overflow an imul and ones that do not (random 32- or 64-bit values nearly
// always overflow): small positive, small negative, random, and about 2^55 (times a 7-bit
// immediate: no overflow; times any other large operand, a register re-run by mistake: one).
CpuState imul_state(uint64_t seed) {
  CpuState s = random_state(seed);
  for (int r : {RAX, RCX, RDX, R8, R9, R10})
    if (seed % 4 == 0) s.gpr[r] &= 0x7F;
    else if (seed % 4 == 1) s.gpr[r] = uint64_t(0) - (s.gpr[r] & 0x3FF);
    else if (seed % 4 == 3) s.gpr[r] = 0x00A0000000000000ull + (s.gpr[r] & 0xFF);
  return s;
}

const std::vector<std::vector<uint8_t>> kImulProducers = {
    {0x0F, 0xAF, 0xC1},                          // imul eax, ecx
    {0x66, 0x44, 0x0F, 0xAF, 0xC1},              // imul r8w, cx
    {0x48, 0x0F, 0xAF, 0xD1},                    // imul rdx, rcx
    {0x69, 0xD1, 0xB1, 0x79, 0x37, 0x9E},        // imul edx, ecx, 0x9E3779B1 (an immediate)
    {0x48, 0x6B, 0xD0, 0x71},                    // imul rdx, rax, 0x71
    {0x66, 0x69, 0xD1, 0x00, 0x80},              // imul dx, cx, -0x8000
    {0x4C, 0x0F, 0xAF, 0x43, 0x08},              // imul r8, [rbx+8]
    {0x39, 0xC8, 0x0F, 0xAF, 0xD1},              // cmp eax, ecx; imul edx, ecx (the cmp's SF..PF stay)
    {0x49, 0xFF, 0xC8, 0x0F, 0xAF, 0xC1},        // dec r8; imul eax, ecx (over an inc/dec layer)
    {0x0F, 0xAF, 0xC1, 0x4C, 0x8B, 0x17},        // imul eax, ecx; mov r10, [rdi] (a sync point)
};

TEST(JitFlagsRecipe, ImulIsExactWhereverItsFlagsAreRead) {
  const std::vector<std::vector<uint8_t>> consumers = {
      {},                                  // (the block's exit; the dispatcher at the syscall)
      {0x0F, 0x90, 0xC3},                  // seto bl (re-run in place)
      {0x0F, 0x92, 0xC3},                  // setc bl
      {0x0F, 0x94, 0xC3},                  // setz bl (not the imul's: the flags under it)
      {0x72, 0x02, 0xFF, 0xC6},            // jc +2; inc esi (a branch on the re-run imul)
      {0x9C, 0x41, 0x59},                  // pushfq; pop r9
      {0x4C, 0x8B, 0x17},                  // mov r10, [rdi] (faults: a host fault's recipe)
      {0x48, 0x11, 0xF7},                  // adc rdi, rsi (the carry re-run)
      {0x49, 0xFF, 0xC0},                  // inc r8 (keeps the imul's CF)
      {0xE8, 0x00, 0x00, 0x00, 0x00, 0x9C, 0x41, 0x59},  // call +0; pushfq; pop r9 (the next block)
      {0xE8, 0x00, 0x00, 0x00, 0x00, 0x4C, 0x8B, 0x17},  // call +0; mov r10, [rdi] (CpuState's layer at a fault)
      {0xE8, 0x00, 0x00, 0x00, 0x00, 0x70, 0x00, 0x0F, 0x92, 0xC3},  // call +0; jo +0; setc bl
      // call +0; inc r8 (an inc/dec over CpuState's imul code: settled first); call +0; pushfq; pop r9
      {0xE8, 0x00, 0x00, 0x00, 0x00, 0x49, 0xFF, 0xC0, 0xE8, 0x00, 0x00, 0x00, 0x00, 0x9C, 0x41, 0x59},
      // call +0; imul r9d, r10d (an imul over CpuState's imul); call +0; seto bl
      {0xE8, 0x00, 0x00, 0x00, 0x00, 0x45, 0x0F, 0xAF, 0xCA, 0xE8, 0x00, 0x00, 0x00, 0x00, 0x0F, 0x90, 0xC3},
      // call +0; bt esi, 3 (a CF value over CpuState's imul: settled first); call +0; seto bl
      {0xE8, 0x00, 0x00, 0x00, 0x00, 0x0F, 0xBA, 0xE6, 0x03, 0xE8, 0x00, 0x00, 0x00, 0x00, 0x0F, 0x90, 0xC3},
      {0x74, 0x00, 0x4C, 0x8B, 0x17},      // jz +0 (a side exit stores the recipe); mov r10, [rdi]
  };
  // Three rounds, so that the blocks also run chained; rdi ^= r13 after each: the loads fault
  // in the second round (unmapped, or past the guest window) or never.
  const std::vector<uint8_t> start = {0x41, 0xBC, 0x03, 0x00, 0x00, 0x00};  // mov r12d, 3
  const std::vector<uint8_t> step = {0x4C, 0x31, 0xEF, 0x41, 0xFF, 0xCC};    // xor rdi, r13; dec r12d
  for (const auto& prod : kImulProducers)
    for (const auto& cons : consumers)
      for (uint64_t seed = 1; seed <= 12; ++seed) {
        // (before it, sometimes an inc/dec layer left in CpuState by an earlier block)
        const std::vector<uint8_t> before =
            seed % 2 ? std::vector<uint8_t>{} : std::vector<uint8_t>{0x41, 0xFF, 0xC9, 0xE8, 0x00, 0x00, 0x00, 0x00};
        std::vector<uint8_t> body = cat({before, prod, cons, step});
        std::vector<uint8_t> loop = {0x75, uint8_t(-int(body.size() + 2))};  // jnz body
        CpuState s = imul_state(seed);
        s.gpr[RDI] = kData + 0x1000;
        s.gpr[R13] = seed % 3 == 0 ? 0 : seed % 3 == 1 ? 0x10000 : uint64_t(1) << 47;
        Pair p;
        p.run(cat({start, body, loop, kSyscall}), s);
        SCOPED_TRACE("producer " + std::to_string(&prod - kImulProducers.data()) + ", consumer " +
                     std::to_string(&cons - consumers.data()) + ", seed " + std::to_string(seed));
        p.expect_same();
        EXPECT_EQ(p.jit.cpu.lazy_incdec_op, 0) << "merged before the engine returns";
      }
}

TEST(JitFlagsRecipe, ImulLeftInCpuStateReachesTheInterpreterTier) {
  // mov r12d, 5; body: dec r12d; imul (translated after two entries; its flags leave each
  // iteration's exit as CpuState's imul code, over the dec's where imul keeps SF..PF);
  // xchg rcx, r12; jrcxz out; xchg rcx, r12; jmp body; out: xchg rcx, r12; then code entered
  // once, so run by the interpreter tier: seto bl; setc cl; setz dl; pushfq; pop r9; syscall.
  // The loop tests its counter with jrcxz, which reads no flags: where imul writes ZF too
  // (host_flag_rules(): Intel's parts) a jnz after it would never see the dec's.
  const std::vector<uint8_t> start = {0x41, 0xBC, 0x05, 0x00, 0x00, 0x00};
  const std::vector<uint8_t> swap = {0x4C, 0x87, 0xE1};  // xchg rcx, r12
  const std::vector<uint8_t> after = {0x0F, 0x90, 0xC3, 0x0F, 0x92, 0xC1, 0x0F, 0x94, 0xC2, 0x9C, 0x41, 0x59};
  for (size_t k = 0; k < 6; ++k)
    for (uint64_t seed = 1; seed <= 8; ++seed) {
      std::vector<uint8_t> body = cat({{0x41, 0xFF, 0xCC}, kImulProducers[k]});
      const int back = -int(body.size() + 2 * swap.size() + 4);
      std::vector<uint8_t> loop = cat({swap, {0xE3, uint8_t(swap.size() + 2)}, swap, {0xEB, uint8_t(back)}, swap});
      jit::JitOptions o;
      o.tiers.translate_after = 2;
      Pair p;
      p.run(cat({start, body, loop, after, kSyscall}), imul_state(seed), o);
      SCOPED_TRACE("producer " + std::to_string(k) + ", seed " + std::to_string(seed));
      EXPECT_EQ(p.jit.cpu.gpr[R12], 0u);
      p.expect_same();
    }
}

TEST(JitFlagsRecipe, SettleMergesAnImulCodeOverTheFirstLayer) {
  // CpuState as a block leaves it: a sub in the first layer, an imul code over it.
  for (unsigned size : {2u, 4u, 8u})
    for (uint64_t a : {uint64_t(3), uint64_t(0x4000), uint64_t(0x7FFFFFFF), uint64_t(0) - 2, uint64_t(1) << 40})
      for (uint64_t b : {uint64_t(5), uint64_t(2), uint64_t(0) - 1, uint64_t(0x10000)}) {
        CpuState c{};
        c.rflags = flag::FIXED1 | flag::ARITH;
        c.lazy_flags_op = jit::lazy_flags_code(jit::FlagsRecipe::Sub, 4);
        c.lazy_flags_a = 7;
        c.lazy_flags_b = 9;  // 7 - 9: CF, SF, AF set; ZF clear
        c.lazy_incdec_op = jit::lazy_imul_code(size);
        c.lazy_incdec_a = a;
        c.lazy_incdec_b = b;
        jit::settle_lazy_flags(c);
        EXPECT_EQ(c.lazy_flags_op, 0);
        EXPECT_EQ(c.lazy_incdec_op, 0);
        // The host's own imul at that width.
        uint64_t host, x = a;
        if (size == 2) asm("imulw %w2, %w1\n\tpushfq\n\tpopq %0" : "=r"(host), "+r"(x) : "r"(b) : "cc");
        else if (size == 4) asm("imull %k2, %k1\n\tpushfq\n\tpopq %0" : "=r"(host), "+r"(x) : "r"(b) : "cc");
        else asm("imulq %2, %1\n\tpushfq\n\tpopq %0" : "=r"(host), "+r"(x) : "r"(b) : "cc");
        const uint64_t sub = flags::sub<uint32_t>(7, 9, uint32_t(7 - 9));
        const uint64_t cf_of = flag::CF | flag::OF;
        EXPECT_EQ(c.rflags, flag::FIXED1 | (sub & ~cf_of) | (host & cf_of))
            << "size " << size << ", " << a << " * " << b;
      }
}

TEST(JitFlagsRecipe, AdcSbbChainsAreExactAtFaultsExitsAndTheNextBlock) {
  // cmp eax, ecx; sbb edx, esi; adc r8, r9; sbb r10w, 3; then a read of the chain's flags.
  const std::vector<uint8_t> chain = {0x39, 0xC8, 0x19, 0xF2, 0x4D, 0x11, 0xC8, 0x66, 0x41, 0x83, 0xDA, 0x03};
  const std::vector<std::vector<uint8_t>> ends = {
      {},                                                  // the syscall
      {0x4C, 0x8B, 0x17},                                  // mov r10, [rdi] (faults)
      {0xE8, 0x00, 0x00, 0x00, 0x00, 0x48, 0x19, 0xF7},    // call +0; sbb rdi, rsi (CpuState's carry)
      {0xE8, 0x00, 0x00, 0x00, 0x00, 0x9C, 0x41, 0x59},    // call +0; pushfq; pop r9
      {0x74, 0x00, 0x48, 0x11, 0xF7, 0x4C, 0x8B, 0x17},    // jz +0; adc rdi, rsi; mov r10, [rdi]
  };
  for (const auto& end : ends)
    for (uint64_t seed = 1; seed <= 12; ++seed) {
      CpuState s = random_state(seed);
      if (seed % 2) s.gpr[RCX] = s.gpr[RAX];  // no borrow
      s.gpr[RDI] = seed % 3 ? 0x70000 : kData;  // unmapped, or a valid load
      Pair p;
      p.run(cat({chain, end, kSyscall}), s);
      p.expect_same();
    }
}

}  // namespace
}  // namespace vireo::test

namespace vireo::test {
namespace {

// The settle_flags trampoline (translated code's settle_lazy_flags) against the C++ one, for
// every code of both layers and operands that set and clear each flag: it captures the host's
// flags with lahf and seto (no pushfq), which must give the same six bits, AF and the OF of a
// multi-bit shift included.
TEST(JitFlagsRecipe, SettleTrampolineMatchesSettleLazyFlags) {
  jit::CodeCache cache(1 << 20);
  const jit::Trampolines t = jit::make_trampolines(cache.trampoline_page());
  auto run_trampoline = [&](CpuState& c) {
    // (below the red zone; rbx = the CpuState, as in translated code; rax and rcx kept)
    asm volatile(
        "sub $128, %%rsp\n\tpush %%rbx\n\tmov %0, %%rbx\n\tcall *%1\n\tpop %%rbx\n\tadd $128, %%rsp"
        :
        : "D"(&c), "S"(t.settle_flags)
        : "r11", "memory", "cc");
  };
  std::mt19937_64 rng(2026);
  const uint64_t interesting[] = {0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000,
                                  0xFFFFFFFF, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, ~uint64_t(0), 0x0F, 0x10};
  auto operand = [&] { return rng() % 3 == 0 ? interesting[rng() % 16] : rng() >> (rng() % 64); };
  std::vector<uint8_t> first = {0};
  for (int k = 1; k <= jit::kLazyFlagsCodes + 1; ++k) first.push_back(uint8_t(k));  // (+ kLazyFlagsValue)
  for (int k = 0; k < jit::kLazyShiftCodes; ++k) first.push_back(uint8_t(jit::kLazyShiftFirst + k));
  std::vector<uint8_t> second = {0};
  for (int k = 1; k <= jit::kLazyIncDecCodes; ++k) second.push_back(uint8_t(k));
  second.push_back(jit::kLazyPartialCfOf);
  second.push_back(jit::kLazyPartialCf);
  for (unsigned size : {2u, 4u, 8u}) second.push_back(jit::lazy_imul_code(size));
  int checked = 0;
  for (uint8_t op : first)
    for (uint8_t op2 : second)
      for (int n = 0; n < 24; ++n) {
        CpuState c{};
        c.rflags = flag::FIXED1 | (rng() & (flag::ARITH | flag::DF));
        c.lazy_flags_op = op;
        c.lazy_flags_a = operand();
        c.lazy_flags_b = operand();
        if (op >= jit::kLazyShiftFirst) {  // a count of an immediate shift: 1 to width - 1
          const unsigned width = 8u << ((op - jit::kLazyShiftFirst) % 4);
          c.lazy_flags_b = 1 + rng() % (width - 1);
        }
        c.lazy_incdec_op = op2;
        c.lazy_incdec_a = operand();
        c.lazy_incdec_b = operand();
        CpuState ref = c;
        jit::settle_lazy_flags(ref);
        run_trampoline(c);
        ASSERT_EQ(c.rflags, ref.rflags) << "codes " << int(op) << "/" << int(op2) << ", operands " << std::hex
                                        << c.lazy_flags_a << " " << c.lazy_flags_b << " " << c.lazy_incdec_a << " "
                                        << c.lazy_incdec_b;
        EXPECT_EQ(c.lazy_flags_op, 0);
        EXPECT_EQ(c.lazy_incdec_op, 0);
        ++checked;
      }
  EXPECT_GT(checked, 3000);
}

}  // namespace
}  // namespace vireo::test
