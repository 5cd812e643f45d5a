// Instructions that real programs' hot paths ran as interpreter fallbacks (helper/isa: xz's
// CRC64 uses PCLMULQDQ, OpenSSL and Python's hashlib SHA-NI and AES-NI, glibc's strcspn/strspn
// and cc1's lexer SSE4.2's pcmpistri/pcmpestri, Go's math/big BMI2's mulx): under the JIT
// each is now the host's own instruction (mulx: the IR's multiply), checked here against the
// interpreter. (vireo-difftest's aes, pclmul, sha,
// sse4.1 and sse4.2 families check them against native execution.)
#include <sys/platform/x86.h>

#include "cpu/host_quirks.h"
#include "jit_harness.h"

namespace vireo::test {
namespace {

using Code = std::vector<uint8_t>;

std::vector<IsaCase> cases() {
  const bool clmul = CPU_FEATURE_ACTIVE(PCLMULQDQ), aes = CPU_FEATURE_ACTIVE(AES), sha = CPU_FEATURE_ACTIVE(SHA),
             sse42 = CPU_FEATURE_ACTIVE(SSE4_2);
  return {
      {"pclmulqdq xmm0, xmm1, 0x11", {0x66, 0x0F, 0x3A, 0x44, 0xC1, 0x11}, clmul},
      {"pclmulqdq xmm2, [rbx], 0", {0x66, 0x0F, 0x3A, 0x44, 0x13, 0x00}, clmul},
      {"aesenc xmm0, xmm1", {0x66, 0x0F, 0x38, 0xDC, 0xC1}, aes},
      {"aesdeclast xmm3, [rbx]", {0x66, 0x0F, 0x38, 0xDF, 0x1B}, aes},
      {"aeskeygenassist xmm0, xmm1, 0x1b", {0x66, 0x0F, 0x3A, 0xDF, 0xC1, 0x1B}, aes},
      {"sha256rnds2 xmm2, xmm1, <xmm0>", {0x0F, 0x38, 0xCB, 0xD1}, sha},
      {"sha256msg1 xmm2, xmm1", {0x0F, 0x38, 0xCC, 0xD1}, sha},
      {"sha1rnds4 xmm3, [rbx+16], 2", {0x0F, 0x3A, 0xCC, 0x5B, 0x10, 0x02}, sha},  // (misaligned: below)
      {"pextrq rax, xmm1, 1", {0x66, 0x48, 0x0F, 0x3A, 0x16, 0xC8, 0x01}, true},
      {"pextrb r10d, xmm9, 13", {0x66, 0x45, 0x0F, 0x3A, 0x14, 0xCA, 0x0D}, true},
      {"pextrw [rbx+3], xmm2, 5", {0x66, 0x0F, 0x3A, 0x15, 0x53, 0x03, 0x05}, true},
      {"extractps ecx, xmm1, 2", {0x66, 0x0F, 0x3A, 0x17, 0xC9, 0x02}, true},
      {"pinsrq xmm1, rdx, 1", {0x66, 0x48, 0x0F, 0x3A, 0x22, 0xCA, 0x01}, true},
      {"pinsrb xmm10, [rbx+5], 7", {0x66, 0x44, 0x0F, 0x3A, 0x20, 0x53, 0x05, 0x07}, true},
      {"pinsrw xmm2, esi, 3", {0x66, 0x0F, 0xC4, 0xD6, 0x03}, true},
      {"pcmpistri xmm0, xmm1, 0x0c", {0x66, 0x0F, 0x3A, 0x63, 0xC1, 0x0C}, sse42},
      {"pcmpistri xmm11, [rbx+3], 0x1a", {0x66, 0x44, 0x0F, 0x3A, 0x63, 0x5B, 0x03, 0x1A}, sse42},
      {"pcmpestri xmm0, xmm1, 0x0c", {0x66, 0x0F, 0x3A, 0x61, 0xC1, 0x0C}, sse42},
      {"pcmpestri xmm9, [rbx+7], 0x44", {0x66, 0x44, 0x0F, 0x3A, 0x61, 0x4B, 0x07, 0x44}, sse42},
      {"pcmpestri (REX.W) xmm0, xmm1, 0x0c", {0x66, 0x48, 0x0F, 0x3A, 0x61, 0xC1, 0x0C}, sse42},
      // constant lengths: the op's length operands are then constants in host registers
      {"mov eax, 5; mov edx, -9; pcmpestri xmm0, xmm1, 0x18",
       {0xB8, 0x05, 0x00, 0x00, 0x00, 0xBA, 0xF7, 0xFF, 0xFF, 0xFF, 0x66, 0x0F, 0x3A, 0x61, 0xC1, 0x18}, sse42},
      // BMI2 mulx (Go's math/big, GMP): hi:lo = rdx * src, without the host's mulx
      {"mulx r8, r9, r10", {0xC4, 0x42, 0xB3, 0xF6, 0xC2}, true},
      {"mulx eax, ecx, [rbx+4]", {0xC4, 0xE2, 0x73, 0xF6, 0x43, 0x04}, true},
      {"mulx rax, rax, rdx (one destination: the high half)", {0xC4, 0xE2, 0xFB, 0xF6, 0xC2}, true},
      {"mulx rdx, rsi, [rbx]", {0xC4, 0xE2, 0xCB, 0xF6, 0x13}, true},
      {"blendvps xmm1, xmm2, <xmm0>", {0x66, 0x0F, 0x38, 0x14, 0xCA}, true},
      {"pblendvb xmm3, [rbx], <xmm0>", {0x66, 0x0F, 0x38, 0x10, 0x1B}, true},
  };
}

// Random XMM registers with some zero bytes (the string compares stop at them) and repeated
// bytes (their matches); pcmpestri's lengths small, negative or with upper bits set.
CpuState state(uint64_t seed) {
  CpuState s = random_state(seed);
  std::mt19937_64 rng(seed * 31 + 7);
  for (auto& x : s.xmm)
    for (uint64_t& q : x.u64) {
      q = rng();
      if (seed % 3 == 0) q &= 0x0F0F0F0F0F0F0F0Full;  // (few distinct bytes: matches)
      if (rng() % 4 == 0) q &= ~(0xFFull << (8 * (rng() % 8)));
    }
  const int64_t lengths[] = {0, 1, 5, 16, 17, -3, -16, -40, int64_t(0x100000005ll), int64_t(0xFFFFFFFF00000003ull)};
  s.gpr[RAX] = uint64_t(lengths[rng() % 10]);
  s.gpr[RDX] = uint64_t(lengths[rng() % 10]);
  return s;
}

TEST(JitIsa, TranslatedAndSameAsInterpreter) { expect_cases_match_interpreter(cases(), 24, state); }

// Several in one block, with values flowing between them and through general registers: the
// string compares' saved and restored RAX/RCX/RDX around live values.
TEST(JitIsa, OneBlockOfThemMatchesInterpreter) {
  const Code block = cat({
      {0x48, 0x89, 0xC7},                                // mov rdi, rax
      {0x66, 0x0F, 0x3A, 0x61, 0xC1, 0x0C},              // pcmpestri xmm0, xmm1, 0x0c
      {0x48, 0x01, 0xC8},                                // add rax, rcx
      {0x66, 0x48, 0x0F, 0x3A, 0x22, 0xC8, 0x01},        // pinsrq xmm1, rax, 1
      {0x66, 0x44, 0x0F, 0x3A, 0x63, 0x5B, 0x03, 0x1A},  // pcmpistri xmm11, [rbx+3], 0x1a
      {0x48, 0x11, 0xCA},                                // adc rdx, rcx (CF from pcmpistri)
      {0x66, 0x0F, 0x3A, 0x44, 0xC1, 0x01},              // pclmulqdq xmm0, xmm1, 1
      {0x66, 0x48, 0x0F, 0x3A, 0x16, 0xC6, 0x00},        // pextrq rsi, xmm0, 0
      {0x66, 0x0F, 0x3A, 0x15, 0x53, 0x09, 0x03},        // pextrw [rbx+9], xmm2, 3
      {0x0F, 0x38, 0xCB, 0xD1},                          // sha256rnds2 xmm2, xmm1, <xmm0>
  });
  expect_matches_interpreter(block, 40, state,
                             CPU_FEATURE_ACTIVE(PCLMULQDQ) && CPU_FEATURE_ACTIVE(SHA) && CPU_FEATURE_ACTIVE(SSE4_2));
}

// The implicit XMM0 in a block that loops in place: read only (loaded where it is read), and
// written by another instruction of the loop (then held in host xmm0 across iterations).
TEST(JitIsa, ImplicitXmm0InLoopsMatchesInterpreter) {
  const Code read_only = {
      0x66, 0x0F, 0x38, 0x14, 0xCA,  // blendvps xmm1, xmm2, <xmm0>
      0x66, 0x0F, 0xFE, 0xD1,        // paddd xmm2, xmm1
      0xFF, 0xC9,                    // dec ecx
      0x75, 0xF3,                    // jnz (to the blendvps)
  };
  const Code written = {
      0x66, 0x0F, 0x6F, 0xC3,        // movdqa xmm0, xmm3
      0x66, 0x0F, 0x38, 0x10, 0xCA,  // pblendvb xmm1, xmm2, <xmm0>
      0x66, 0x0F, 0xFC, 0xD9,        // paddb xmm3, xmm1
      0x66, 0x0F, 0x72, 0xF3, 0x01,  // pslld xmm3, 1
      0xFF, 0xC9,                    // dec ecx
      0x75, 0xEA,                    // jnz (to the movdqa)
  };
  for (const Code* loop : {&read_only, &written}) {
    for (uint64_t seed = 1; seed <= 8; ++seed) {
      SCOPED_TRACE(testing::Message() << (loop == &written ? "written" : "read only") << ", seed " << seed);
      CpuState s = state(seed);
      s.gpr[RCX] = 37;
      Pair p;
      p.run(cat({*loop, kSyscall}), s);
      ASSERT_EQ(p.jit.r, StopReason::Syscall);
      EXPECT_EQ(p.jit_fallbacks, 0u);
      EXPECT_GT(p.jit_self_loops, 0u);
      p.expect_same();
    }
  }
}

// Faults: a misaligned m128 is #GP(0) for AES-NI and PCLMULQDQ (not for the string compares;
// for SHA-NI where the host checks it: cpu/host_quirks.h); an m128 that runs into an unmapped page is #PF; both with the state of
// the instructions before intact (the string compare's registers not yet saved).
TEST(JitIsa, MemoryOperandFaultsMatchInterpreter) {
  const Code prefix = {0x48, 0x83, 0xC1, 0x05};  // add rcx, 5 (pending state at the fault)
  struct F {
    const char* name;
    Code bytes;
    uint64_t rbx;
    bool faults = true;
  };
  const F faults[] = {
      {"aesdeclast misaligned", {0x66, 0x0F, 0x38, 0xDF, 0x1B}, kData + 0x108},
      {"pclmulqdq misaligned", {0x66, 0x0F, 0x3A, 0x44, 0x13, 0x00}, kData + 0x101},
      {"pcmpistri into unmapped", {0x66, 0x44, 0x0F, 0x3A, 0x63, 0x5B, 0x03, 0x1A}, kData + 0x10000 - 8},
      {"pcmpestri into unmapped", {0x66, 0x44, 0x0F, 0x3A, 0x61, 0x4B, 0x07, 0x44}, kData + 0x10000 - 12},
      {"pcmpestri non-canonical", {0x66, 0x44, 0x0F, 0x3A, 0x61, 0x4B, 0x07, 0x44}, 0x8000000000000000ull},
      {"sha1rnds4 misaligned, mapped", {0x0F, 0x3A, 0xCC, 0x5B, 0x01, 0x02}, kData + 0x100, host_sha_checks_alignment()},
      {"pextrw into unmapped", {0x66, 0x0F, 0x3A, 0x15, 0x53, 0x03, 0x05}, kData + 0x10000 - 4},
      {"pinsrb from unmapped", {0x66, 0x44, 0x0F, 0x3A, 0x20, 0x53, 0x05, 0x07}, kData + 0x10000 - 5},
  };
  for (const F& f : faults) {
    for (uint64_t seed = 1; seed <= 6; ++seed) {
      SCOPED_TRACE(testing::Message() << f.name << ", seed " << seed);
      CpuState s = state(seed);
      s.gpr[RBX] = f.rbx;
      Pair p;
      p.run(cat({prefix, f.bytes, kSyscall}), s);
      EXPECT_EQ(p.ref.r != StopReason::Syscall, f.faults);
      p.expect_same();
    }
  }
}

// RDTSC/RDTSCP in user mode: EDX:EAX, each zero-extended, never going back; RDTSCP's ECX is
// processor 0 (the interpreter's IA32_TSC_AUX). Values differ between runs: checked, not compared.
TEST(JitIsa, UserModeRdtscIsTranslated) {
  const Code code = cat({
      {0x0F, 0x31},        // rdtsc
      {0x48, 0x89, 0xC6},  // mov rsi, rax
      {0x48, 0x89, 0xD7},  // mov rdi, rdx
      {0x0F, 0x01, 0xF9},  // rdtscp
      {0x49, 0x89, 0xC8},  // mov r8, rcx (syscall overwrites rcx)
      kSyscall,
  });
  CpuState s = random_state(3);
  s.tsc_offset = 1ull << 40;
  Pair p;
  p.run(code, s);
  ASSERT_EQ(p.jit.r, StopReason::Syscall);
  EXPECT_EQ(p.jit_fallbacks, 0u);
  for (const CpuState* c : {&p.jit.cpu, &p.ref.cpu}) {
    EXPECT_EQ(c->gpr[RSI] >> 32, 0u);
    EXPECT_EQ(c->gpr[RDI] >> 32, 0u);
    EXPECT_EQ(c->gpr[RAX] >> 32, 0u);
    EXPECT_EQ(c->gpr[RDX] >> 32, 0u);
    EXPECT_EQ(c->gpr[R8], 0u);
    const uint64_t first = c->gpr[RDI] << 32 | c->gpr[RSI], second = c->gpr[RDX] << 32 | c->gpr[RAX];
    EXPECT_LE(first, second);
    EXPECT_GE(first, s.tsc_offset);  // (the offset is added)
  }
}

}  // namespace
}  // namespace vireo::test
