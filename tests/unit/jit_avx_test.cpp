// VEX instructions under the JIT against the interpreter: each is the host's own instruction
// on host YMM registers (frontend/avx.cpp, backend/x64/emit_avx.cpp), so none may fall back.
// Full 256-bit state is compared (CpuState::ymm_hi too). The cross-check against native
// hardware is vireo-difftest's avx, avx2, fma and f16c families under --engine jit.
#include <sys/platform/x86.h>

#include <chrono>
#include <functional>
#include <thread>

#include "cpu/cpuid.h"
#include "jit_harness.h"

namespace vireo::test {
namespace {

using Code = std::vector<uint8_t>;

CpuState avx_state(uint64_t seed) {
  CpuState s = random_state(seed);
  std::mt19937_64 rng(seed * 977);
  for (int r = 0; r < 16; ++r) {
    for (uint64_t& q : s.xmm[r].u64) q = rng();
    for (uint64_t& q : s.ymm_hi[r].u64) q = rng();
  }
  s.xcr0 = supported_xcr0();
  s.cr4 |= kCr4OsXsave;
  return s;
}

void expect_same_ymm(const Pair& p) {
  for (int x = 0; x < 16; ++x)
    EXPECT_EQ(std::memcmp(&p.jit.cpu.ymm_hi[x], &p.ref.cpu.ymm_hi[x], sizeof p.jit.cpu.ymm_hi[x]), 0)
        << "ymm " << x << " upper half";
}

// What glibc 2.36's AVX2 string functions use (strlen/memchr/strcmp/memcpy/memset): loads and
// stores, byte compares, min/max, vpmovmskb, vptest, broadcasts, vpalignr, vpshufb, GPR moves.
const Code kStringForms = {
    0xC5, 0xF9, 0xEF, 0xC0,                    // vpxor xmm0, xmm0, xmm0
    0xC5, 0xFE, 0x6F, 0x0B,                    // vmovdqu ymm1, [rbx]
    0xC5, 0xFD, 0x74, 0xD1,                    // vpcmpeqb ymm2, ymm0, ymm1
    0xC5, 0xF5, 0xDA, 0x5B, 0x20,              // vpminub ymm3, ymm1, [rbx+0x20]
    0xC5, 0xFD, 0xD7, 0xC2,                    // vpmovmskb eax, ymm2
    0xC4, 0xE2, 0x7D, 0x17, 0xCB,              // vptest ymm1, ymm3
    0xC4, 0xE2, 0x7D, 0x78, 0xE1,              // vpbroadcastb ymm4, xmm1
    0xC4, 0xE3, 0x75, 0x0F, 0xEB, 0x03,        // vpalignr ymm5, ymm1, ymm3, 3
    0xC4, 0xE2, 0x75, 0x00, 0xF4,              // vpshufb ymm6, ymm1, ymm4
    0xC5, 0xFE, 0x7F, 0x6B, 0x40,              // vmovdqu [rbx+0x40], ymm5
    0xC5, 0xD5, 0xEB, 0xFE,                    // vpor ymm7, ymm5, ymm6
    0xC5, 0x45, 0xDF, 0xC1,                    // vpandn ymm8, ymm7, ymm1
    0xC5, 0x3D, 0xF8, 0xCB,                    // vpsubb ymm9, ymm8, ymm3
    0xC5, 0x79, 0x7E, 0xC9,                    // vmovd ecx, xmm9
    0xC4, 0x42, 0x7D, 0x58, 0xD1,              // vpbroadcastd ymm10, xmm9
    0xC5, 0x2D, 0x76, 0xD9,                    // vpcmpeqd ymm11, ymm10, ymm1
    0xC5, 0x21, 0xDE, 0xE1,                    // vpmaxub xmm12, xmm11, xmm1 (VEX.128: zeroes 255:128)
    0xC5, 0x7D, 0x6F, 0x6B, 0x60,              // vmovdqa ymm13, [rbx+0x60]
    0xC5, 0x7D, 0x7F, 0xA3, 0x80, 0, 0, 0,     // vmovdqa [rbx+0x80], ymm12
    0xC4, 0x61, 0xF9, 0x7E, 0xEA,              // vmovq rdx, xmm13
    0xC4, 0x63, 0x11, 0x22, 0xF6, 0x02,        // vpinsrd xmm14, xmm13, esi, 2
    0xC4, 0x63, 0xF9, 0x16, 0xF7, 0x01,        // vpextrq rdi, xmm14, 1
};

// What -O3 -march=x86-64-v3 float loops use: broadcasts, arithmetic, FMA, lane moves,
// conversions, compares into flags, blends, permutes, F16C.
const Code kFloatForms = {
    0xC4, 0xE2, 0x7D, 0x18, 0x03,              // vbroadcastss ymm0, [rbx]
    0xC5, 0xFC, 0x59, 0x4B, 0x20,              // vmulps ymm1, ymm0, [rbx+0x20]
    0xC5, 0xF4, 0x58, 0xD0,                    // vaddps ymm2, ymm1, ymm0
    0xC4, 0xE2, 0x75, 0xB8, 0xD0,              // vfmadd231ps ymm2, ymm1, ymm0
    0xC4, 0xE2, 0xF1, 0xA9, 0x5B, 0x08,        // vfmadd213sd xmm3, xmm1, [rbx+8]
    0xC4, 0xE3, 0x6D, 0x06, 0xE1, 0x21,        // vperm2f128 ymm4, ymm2, ymm1, 0x21
    0xC4, 0xE3, 0x7D, 0x19, 0xE5, 0x01,        // vextractf128 xmm5, ymm4, 1
    0xC4, 0xE3, 0x5D, 0x18, 0xF1, 0x01,        // vinsertf128 ymm6, ymm4, xmm1, 1
    0xC5, 0xFC, 0x5B, 0xFE,                    // vcvtdq2ps ymm7, ymm6
    0xC5, 0x7E, 0x5B, 0xC2,                    // vcvttps2dq ymm8, ymm2
    0xC4, 0x61, 0xB3, 0x2A, 0xC8,              // vcvtsi2sd xmm9, xmm9, rax
    0xC4, 0xC1, 0xFB, 0x2C, 0xC9,              // vcvttsd2si rcx, xmm9
    0xC5, 0x7C, 0x5A, 0xD2,                    // vcvtps2pd ymm10, xmm2
    0xC5, 0x79, 0x2E, 0xD3,                    // vucomisd xmm10, xmm3
    0xC5, 0x7C, 0x51, 0xDF,                    // vsqrtps ymm11, ymm7
    0xC5, 0x24, 0x5E, 0xE0,                    // vdivps ymm12, ymm11, ymm0
    0xC4, 0x43, 0x1D, 0x4A, 0xEB, 0xA0,        // vblendvps ymm13, ymm12, ymm11, ymm10
    0xC4, 0x42, 0x75, 0x16, 0xF5,              // vpermps ymm14, ymm1, ymm13
    0xC4, 0x62, 0x7D, 0x13, 0xF9,              // vcvtph2ps ymm15, xmm1
    0xC4, 0x63, 0x7D, 0x19, 0xBB, 0xA0, 0, 0, 0, 0x01,  // vextractf128 [rbx+0xa0], ymm15, 1
};

void run_translated(const Code& body, uint64_t seeds, const std::function<void(CpuState&)>& setup = {}) {
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    CpuState s = avx_state(seed);
    if (setup) setup(s);
    Pair p;
    p.run(cat({body, kSyscall}), s);
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    EXPECT_EQ(p.jit_fallbacks, 0u);
    ASSERT_EQ(p.jit.r, StopReason::Syscall);
    p.expect_same();
    expect_same_ymm(p);
  }
}

TEST(JitAvx, GlibcStringFormsAreTranslatedAndMatchInterpreter) { run_translated(kStringForms, 12); }

TEST(JitAvx, FloatFormsAreTranslatedAndMatchInterpreter) {
  run_translated(kFloatForms, 12, [](CpuState& s) {
    s.mxcsr = 0x1F80 | uint32_t(s.gpr[RDX] & 3) << 13;  // every rounding mode (FMA, conversions)
  });
}

// The VEX forms of AES-NI (OpenSSL's AES-GCM), VAES and VPCLMULQDQ (helper/isa2): the
// host's own instruction where it has them (frontend/avx.cpp, isa_enabled).
const Code kCryptoForms = {
    0xC4, 0xE2, 0x71, 0xDC, 0xC2,              // vaesenc xmm0, xmm1, xmm2
    0xC4, 0xE2, 0x79, 0xDD, 0x5B, 0x10,        // vaesenclast xmm3, xmm0, [rbx+0x10]
    0xC4, 0xE2, 0x61, 0xDE, 0xE1,              // vaesdec xmm4, xmm3, xmm1
    0xC4, 0xE2, 0x59, 0xDF, 0xEA,              // vaesdeclast xmm5, xmm4, xmm2
    0xC4, 0xE2, 0x79, 0xDB, 0xF5,              // vaesimc xmm6, xmm5
    0xC4, 0xE3, 0x79, 0xDF, 0xFE, 0x1B,        // vaeskeygenassist xmm7, xmm6, 0x1b
    0xC4, 0x62, 0x75, 0xDC, 0xC2,              // vaesenc ymm8, ymm1, ymm2 (VAES)
    0xC4, 0x62, 0x3D, 0xDD, 0x4B, 0x20,        // vaesenclast ymm9, ymm8, [rbx+0x20]
    0xC4, 0x62, 0x35, 0xDE, 0xD1,              // vaesdec ymm10, ymm9, ymm1
    0xC4, 0x63, 0x2D, 0x44, 0xDA, 0x11,        // vpclmulqdq ymm11, ymm10, ymm2, 0x11 (VPCLMULQDQ)
    0xC4, 0x63, 0x21, 0x44, 0x23, 0x01,        // vpclmulqdq xmm12, xmm11, [rbx], 0x01
};

TEST(JitAvx, CryptoFormsAreTranslatedAndMatchInterpreter) {
  if (!CPU_FEATURE_ACTIVE(AES) || !CPU_FEATURE_ACTIVE(VAES) || !CPU_FEATURE_ACTIVE(VPCLMULQDQ) ||
      !CPU_FEATURE_ACTIVE(PCLMULQDQ))
    GTEST_SKIP() << "the host lacks AES-NI, VAES or VPCLMULQDQ (then they are interpreter fallbacks)";
  run_translated(kCryptoForms, 12);
}

// A loop in place: its YMM registers are held in host registers across iterations while their
// upper halves stay in CpuState; legacy SSE in the loop keeps them, vzeroupper clears them.
// Registers first read after a 256-bit op in the same run of VEX ops: their low halves are
// loaded VEX-encoded (emit_avx.cpp: a legacy movdqa with a dirty host upper half stalls), which
// zeroes the host upper half; a wide read after that must take the guest's upper half again.
TEST(JitAvx, RegistersFirstReadInADirtyRunKeepTheirUpperHalves) {
  const Code run = {
      0xC4, 0xE2, 0x7D, 0x78, 0xC0,  // vpbroadcastb ymm0, xmm0 (the host's upper halves dirty)
      0xC5, 0xF1, 0xEF, 0xC9,        // vpxor xmm1, xmm1, xmm1
      0xC5, 0xE5, 0xFC, 0xD0,        // vpaddb ymm2, ymm3, ymm0 (ymm3 read wide)
      0xC5, 0xD1, 0xFC, 0xE0,        // vpaddb xmm4, xmm5, xmm0 (xmm5's low half only)
      0xC5, 0xD5, 0xEB, 0xF2,        // vpor ymm6, ymm5, ymm2 (then ymm5 wide)
      0xC5, 0xC5, 0xF8, 0xFD,        // vpsubb ymm7, ymm7, ymm5
  };
  run_translated(run, 6);
}

TEST(JitAvx, LoopInPlaceMixingVexAndLegacySse) {
  const Code loop = {
      0xC5, 0xFD, 0xFE, 0xC1,  // L: vpaddd ymm0, ymm0, ymm1
      0x66, 0x0F, 0xFE, 0xC2,  //    paddd xmm0, xmm2 (keeps ymm0's upper half)
      0xC5, 0xE5, 0xFB, 0xD8,  //    vpsubq ymm3, ymm3, ymm0
      0xFF, 0xC9,              //    dec ecx
      0x75, 0xF0,              //    jnz L
      0xC5, 0xF8, 0x77,        // vzeroupper
  };
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    CpuState s = avx_state(seed);
    s.gpr[RCX] = 5 + seed;
    Pair p;
    p.run(cat({loop, kSyscall}), s);
    EXPECT_EQ(p.jit_fallbacks, 0u);
    EXPECT_GE(p.jit_self_loops, 1u);
    ASSERT_EQ(p.jit.r, StopReason::Syscall);
    p.expect_same();
    expect_same_ymm(p);
    for (int x = 0; x < 16; ++x) EXPECT_EQ(p.jit.cpu.ymm_hi[x].u64[0] | p.jit.cpu.ymm_hi[x].u64[1], 0u);
  }
}

// AVX disabled in the thread's XCR0 or CR4.OSXSAVE (possible here, not in a user-mode process,
// where they never change): the engine keeps each VEX run's check, and both engines raise
// #UD at the first VEX instruction, in a block and in a loop in place. Enabled, the check is
// left out (Runtime::vex_enabled) and the loop runs translated (LoopInPlaceMixingVexAndLegacySse).
TEST(JitAvx, VexIsUndefinedWhereXcr0OrCr4DisableIt) {
  const Code code = {
      0xFF, 0xC1,              // L: inc ecx
      0xC5, 0xFD, 0xFE, 0xC1,  //    vpaddd ymm0, ymm0, ymm1
      0xFF, 0xCA,              //    dec edx
      0x75, 0xF6,              //    jnz L
  };
  for (int how = 0; how < 2; ++how) {
    CpuState s = avx_state(11 + how);
    if (how == 0) s.xcr0 = xstate::X87 | xstate::SSE;  // no AVX state
    else s.cr4 &= ~kCr4OsXsave;
    s.gpr[RDX] = 3;
    Pair p;
    p.run(cat({code, kSyscall}), s);
    ASSERT_EQ(p.ref.r, StopReason::Fault);
    EXPECT_EQ(p.jit.r, StopReason::Fault);
    EXPECT_EQ(p.jit.cpu.fault.vector, VEC_UD);
    EXPECT_EQ(p.jit.cpu.rip, kCode + 2);
    p.expect_same();
    expect_same_ymm(p);
  }
}

// vmovdqa ymm, m256 needs 32-byte alignment: a 16-byte aligned operand is #GP(0) at the
// instruction, with the state before it (SDM Vol. 1, 14.9).
TEST(JitAvx, MisalignedVmovdqaFaultsPrecisely) {
  const Code code = {
      0xC5, 0xFD, 0xFE, 0xC1,        // vpaddd ymm0, ymm0, ymm1 (dirty before the fault)
      0xC5, 0xFD, 0x6F, 0x43, 0x10,  // vmovdqa ymm0, [rbx+0x10]
  };
  CpuState s = avx_state(3);
  Pair p;
  p.run(cat({code, kSyscall}), s);
  EXPECT_EQ(p.jit.r, p.ref.r);
  EXPECT_NE(p.jit.r, StopReason::Syscall);
  EXPECT_EQ(p.jit.cpu.rip, kCode + 4);
  EXPECT_EQ(p.jit.cpu.fault.vector, VEC_GP);
  p.expect_same();
  expect_same_ymm(p);
}

// A 32-byte load straddling the end of the mapped data: #PF with the guest state exact.
TEST(JitAvx, LoadAcrossTheEndOfMemoryFaultsPrecisely) {
  const Code code = {
      0xC5, 0xF5, 0xEF, 0xC9,  // vpxor ymm1, ymm1, ymm1
      0xC5, 0xFE, 0x6F, 0x03,  // vmovdqu ymm0, [rbx]
  };
  CpuState s = avx_state(4);
  s.gpr[RBX] = kData + 0x10000 - 16;
  Pair p;
  p.run(cat({code, kSyscall}), s);
  EXPECT_EQ(p.jit.r, p.ref.r);
  EXPECT_EQ(p.jit.cpu.rip, kCode + 4);
  EXPECT_EQ(p.jit.cpu.fault.vector, VEC_PF);
  p.expect_same();
  expect_same_ymm(p);
}

// A loop in place that is one run of VEX ops (glibc's AVX2 memmove and strlen loops) keeps the
// guest's upper halves in host registers across iterations and stores them only where it is
// left (emit_avx.cpp, vex_loop_). Each test runs the loop for several iterations, then leaves
// it: by its exit, or by a fault in a later iteration, where all 256 bits of all sixteen
// registers must be what the guest had at the faulting instruction.
void run_vex_loop(const Code& loop, uint64_t seeds, const std::function<void(CpuState&)>& setup,
                  StopReason expect, uint8_t vector = 0) {
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    CpuState s = avx_state(seed);
    setup(s);
    Pair p;
    p.run(cat({loop, kSyscall}), s);
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    EXPECT_EQ(p.jit_fallbacks, 0u);
    EXPECT_GE(p.jit_self_loops, 1u);
    ASSERT_EQ(p.ref.r, expect);
    EXPECT_EQ(p.jit.r, expect);
    if (expect == StopReason::Fault) {
      EXPECT_EQ(p.jit.cpu.fault.vector, vector);
      EXPECT_EQ(p.jit.cpu.fault.vector, p.ref.cpu.fault.vector);
      EXPECT_EQ(p.jit.cpu.fault.address, p.ref.cpu.fault.address);
    }
    p.expect_same();
    expect_same_ymm(p);
  }
}

// memmove's loop, forward, with a running sum: the fourth iteration's third load crosses the
// end of the data (a host fault, the signal context's XSAVE area) after this iteration's first
// two loads and the sum's update.
TEST(JitAvx, VexLoopFaultingInALaterIterationKeepsEveryUpperHalf) {
  const Code loop = {
      0xC5, 0xFE, 0x6F, 0x0E,        // L: vmovdqu ymm1, [rsi]
      0xC5, 0xFE, 0x6F, 0x56, 0x20,  //    vmovdqu ymm2, [rsi+0x20]
      0xC5, 0xD5, 0xFC, 0xE9,        //    vpaddb ymm5, ymm5, ymm1
      0xC5, 0xFE, 0x6F, 0x5E, 0x40,  //    vmovdqu ymm3, [rsi+0x40]
      0xC5, 0xFE, 0x6F, 0x66, 0x60,  //    vmovdqu ymm4, [rsi+0x60]
      0x48, 0x83, 0xEE, 0x80,        //    sub rsi, -0x80
      0xC5, 0xFE, 0x7F, 0x0F,        //    vmovdqu [rdi], ymm1
      0xC5, 0xFE, 0x7F, 0x57, 0x20,  //    vmovdqu [rdi+0x20], ymm2
      0xC5, 0xFE, 0x7F, 0x5F, 0x40,  //    vmovdqu [rdi+0x40], ymm3
      0xC5, 0xFE, 0x7F, 0x67, 0x60,  //    vmovdqu [rdi+0x60], ymm4
      0x48, 0x83, 0xEF, 0x80,        //    sub rdi, -0x80
      0xFF, 0xC9,                    //    dec ecx
      0x75, 0xCA,                    //    jnz L
  };
  run_vex_loop(loop, 6, [](CpuState& s) {
    s.gpr[RSI] = kData + 0x10000 - 0x1C0;
    s.gpr[RDI] = kData + 0x1000;
    s.gpr[RCX] = 100;
  }, StopReason::Fault, VEC_PF);
}

// The same loop run to its end (exit_to stores the upper halves), over the data's first bytes.
TEST(JitAvx, VexLoopLeftByItsExitStoresItsUpperHalves) {
  const Code loop = {
      0xC5, 0xFE, 0x6F, 0x0E,        // L: vmovdqu ymm1, [rsi]
      0xC5, 0xF5, 0xFC, 0x56, 0x20,  //    vpaddb ymm2, ymm1, [rsi+0x20]
      0xC5, 0xD5, 0xEF, 0xEA,        //    vpxor ymm5, ymm5, ymm2
      0xC5, 0xE1, 0xFC, 0xD9,        //    vpaddb xmm3, xmm3, xmm1 (VEX.128: zeroes 255:128)
      0xC5, 0xFE, 0x7F, 0x17,        //    vmovdqu [rdi], ymm2
      0x48, 0x83, 0xEE, 0xC0,        //    sub rsi, -0x40
      0x48, 0x83, 0xC7, 0x20,        //    add rdi, 0x20
      0xFF, 0xC9,                    //    dec ecx
      0x75, 0xDF,                    //    jnz L
  };
  run_vex_loop(loop, 6, [](CpuState& s) {
    s.gpr[RSI] = kData;
    s.gpr[RDI] = kData + 0x2000;
    s.gpr[RCX] = 3 + s.gpr[RDX] % 6;
  }, StopReason::Syscall);
}

// strlen's loop (aligned loads, compares into a mask, `sub rdi, -0x40`, test and branch) over
// the data's first 256 bytes, each value once: it stops in the iteration that finds ymm0's byte.
TEST(JitAvx, VexLoopLikeStrlenMatchesInterpreter) {
  const Code loop = {
      0xC5, 0xFD, 0x6F, 0x0F,        // L: vmovdqa ymm1, [rdi]
      0xC5, 0xFD, 0x74, 0xD1,        //    vpcmpeqb ymm2, ymm0, ymm1
      0xC5, 0xFD, 0x6F, 0x5F, 0x20,  //    vmovdqa ymm3, [rdi+0x20]
      0xC5, 0xFD, 0x74, 0xE3,        //    vpcmpeqb ymm4, ymm0, ymm3
      0xC5, 0xED, 0xEB, 0xEC,        //    vpor ymm5, ymm2, ymm4
      0xC5, 0xFD, 0xD7, 0xCD,        //    vpmovmskb ecx, ymm5
      0x48, 0x83, 0xEF, 0xC0,        //    sub rdi, -0x40
      0x85, 0xC9,                    //    test ecx, ecx
      0x74, 0xDF,                    //    jz L
  };
  run_vex_loop(loop, 6, [](CpuState& s) {
    const uint8_t byte = uint8_t(7 * (130 + 20 * (s.gpr[RDX] % 5)));  // at 130..210: the third or fourth iteration
    std::memset(&s.xmm[0], byte, sizeof s.xmm[0]);
    std::memset(&s.ymm_hi[0], byte, sizeof s.ymm_hi[0]);
    s.gpr[RDI] = kData;
  }, StopReason::Syscall);
}

// vmovdqa whose address steps by 16: the second iteration's is misaligned, #GP(0) through the
// check's out-of-line path (its sync record's upper halves), after the sum's update.
TEST(JitAvx, VexLoopMisalignedInALaterIterationFaultsPrecisely) {
  const Code loop = {
      0xC5, 0xD5, 0xFC, 0xEE,        // L: vpaddb ymm5, ymm5, ymm6
      0xC5, 0xFD, 0x6F, 0x0E,        //    vmovdqa ymm1, [rsi]
      0xC5, 0xCD, 0xEF, 0xF1,        //    vpxor ymm6, ymm6, ymm1
      0x48, 0x83, 0xC6, 0x10,        //    add rsi, 0x10
      0xFF, 0xC9,                    //    dec ecx
      0x75, 0xEC,                    //    jnz L
  };
  run_vex_loop(loop, 6, [](CpuState& s) {
    s.gpr[RSI] = kData + 0x40;
    s.gpr[RCX] = 50;
  }, StopReason::Fault, VEC_GP);
}

// An address outside the guest window in the second iteration: the range check's fault path
// (the range-fault frame's upper halves).
TEST(JitAvx, VexLoopLeavingTheWindowFaultsPrecisely) {
  const Code loop = {
      0xC5, 0xD5, 0xFC, 0xEE,        // L: vpaddb ymm5, ymm5, ymm6
      0xC5, 0xFE, 0x6F, 0x0C, 0x16,  //    vmovdqu ymm1, [rsi+rdx]
      0xC5, 0xCD, 0xEF, 0xF1,        //    vpxor ymm6, ymm6, ymm1
      0x48, 0x01, 0xC6,              //    add rsi, rax
      0xFF, 0xC9,                    //    dec ecx
      0x75, 0xEC,                    //    jnz L
  };
  run_vex_loop(loop, 6, [](CpuState& s) {
    s.gpr[RSI] = 0;
    s.gpr[RDX] = kData;
    s.gpr[RAX] = 0x5000'0000'0000;
    s.gpr[RCX] = 50;
  }, StopReason::Fault, VEC_PF);
}

// An exit request (how a signal for the guest stops translated code) at the back edge of a
// loop that is one VEX run: the upper halves go home with the rest of the state. The loop
// counts its iterations at [rbx+8]; ymm0 must be its start plus that many times ymm1, lane
// by lane, in all 256 bits.
TEST(JitAvx, VexLoopStoppedByAnExitRequestStoresItsUpperHalves) {
  const Code loop = {
      0xC5, 0xFD, 0xD4, 0xC1,        // L: vpaddq ymm0, ymm0, ymm1
      0x48, 0x83, 0x43, 0x08, 0x01,  //    add qword [rbx+8], 1
      0xEB, 0xF5,                    //    jmp L
  };
  Machine m;
  m.load(loop);
  const CpuState start = avx_state(5);
  m.cpu = start;
  m.cpu.rip = kCode;
  m.cpu.gpr[RSP] = kData + 0x8000;
  m.cpu.gpr[RBX] = kData;
  const volatile uint64_t* count = reinterpret_cast<const volatile uint64_t*>(m.as.host(kData + 8));
  jit::JitEngine jit(m.as.memory(), {});
  std::thread t([&] {
    for (int i = 0; i < 10000 && *count < 100; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    m.cpu.exit_request = 1;
  });
  const StopReason r = jit.run(m.cpu);
  t.join();
  ASSERT_EQ(r, StopReason::ExitRequest);
  EXPECT_GE(jit.stats().self_loop_blocks, 1u);
  EXPECT_EQ(m.cpu.rip, kCode);
  const uint64_t n = *count;
  EXPECT_GE(n, 100u);
  for (int q = 0; q < 2; ++q) {
    EXPECT_EQ(m.cpu.xmm[0].u64[q], start.xmm[0].u64[q] + n * start.xmm[1].u64[q]) << "low qword " << q;
    EXPECT_EQ(m.cpu.ymm_hi[0].u64[q], start.ymm_hi[0].u64[q] + n * start.ymm_hi[1].u64[q]) << "high qword " << q;
    EXPECT_EQ(m.cpu.ymm_hi[1].u64[q], start.ymm_hi[1].u64[q]);
  }
}

TEST(JitAvx, VzeroallIsTranslated) {
  run_translated({0xC5, 0xF5, 0xFE, 0xC2, 0xC5, 0xFC, 0x77}, 2);  // vpaddd ymm1, ymm1, ymm2; vzeroall
}

}  // namespace
}  // namespace vireo::test
