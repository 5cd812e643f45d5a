// The AVX/AVX2 forms implemented so far (avx_int.cpp, avx_move.cpp, avx_fp.cpp,
// avx_shuffle.cpp), on the interpreter and the JIT, against the host: random YMM0..2 (and RFLAGS, MXCSR modes), the
// instruction, then YMM0, RAX, the flags and MXCSR compared. Includes the upper-half rules:
// VEX.128 zeroes bits 255:128 of its destination, legacy SSE keeps them, vzeroupper clears them.
//
// The default XCR0 enables the AVX state (CPUID advertises AVX/AVX2); the test sets it anyway,
// as an OS would.
#include <cpuid.h>
#include <gtest/gtest.h>

#include <random>

#include "cpu/cpuid.h"
#include "native_cases.h"

namespace vireo::test {
namespace {

using NativeY = void (*)(const uint8_t* in, uint8_t* out, uint64_t* rax, uint64_t* flags,
                         uint32_t* mxcsr);

// YMM0..2 from in[0..96), the instruction, YMM0 to out[0..32); RAX, RFLAGS and MXCSR in and
// out (the host's MXCSR is put back afterwards).
#define NATIVE_Y(text)                                                                    \
  [](const uint8_t* in, uint8_t* out, uint64_t* rax, uint64_t* fl, uint32_t* csr) {       \
    uint64_t a = *rax, f = *fl;                                                           \
    uint32_t saved, c = *csr;                                                             \
    asm volatile("stmxcsr %[saved]\n\tldmxcsr %[c]\n\t"                                  \
                 "subq $128, %%rsp\n\tpushq %[f]\n\tpopfq\n\t"                            \
                 "vmovdqu (%[i]), %%ymm0\n\tvmovdqu 32(%[i]), %%ymm1\n\t"                  \
                 "vmovdqu 64(%[i]), %%ymm2\n\t" text "\n\t"                                \
                 "pushfq\n\tpopq %[f]\n\taddq $128, %%rsp\n\t"                            \
                 "vmovdqu %%ymm0, (%[o])\n\tvzeroupper\n\t"                               \
                 "stmxcsr %[c]\n\tldmxcsr %[saved]"                                        \
                 : [f] "+r"(f), "+a"(a), [c] "+m"(c), [saved] "=m"(saved)                 \
                 : [i] "r"(in), [o] "r"(out)                                              \
                 : "xmm0", "xmm1", "xmm2", "memory", "cc");                               \
    *rax = a;                                                                             \
    *fl = f;                                                                              \
    *csr = c;                                                                             \
  }

struct AvxCase {
  const char* name;
  std::vector<uint8_t> code;
  NativeY native;
};

bool host_has_avx2() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)) || !(c & (1u << 28))) return false;
  return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 5));
}

const std::vector<AvxCase>& cases() {
  static const std::vector<AvxCase> c = {
#include "interp_avx_cases.inc"
  };
  return c;
}

class Avx : public ::testing::TestWithParam<Engine> {};

TEST_P(Avx, MatchesHost) {
  if (!host_has_avx2()) GTEST_SKIP() << "host lacks AVX2";
  std::mt19937_64 rng(3);
  for (const AvxCase& c : cases()) {
    for (int round = 0; round < 6; ++round) {
      alignas(32) uint8_t in[96], out[32];
      for (auto& b : in) {
        uint64_t r = rng();
        b = (r & 7) == 0 ? 0 : (r & 7) == 1 ? 0xFF : (r & 7) == 2 ? 0x80 : (r & 7) == 3 ? 0x7F : uint8_t(r >> 8);
      }
      if (round == 5) std::memcpy(in + 64, in + 32, 32);  // equal operands: compares all-true
      uint64_t rax = ~uint64_t(0), fl = flag::FIXED1 | (rng() & flag::ARITH);
      const uint64_t fin = fl;
      // MXCSR: all exceptions masked, each rounding mode, FTZ/DAZ now and then.
      const uint32_t csr_in = 0x1F80 | uint32_t(round % 4) << 13 | (round == 3 ? 0x8040u : 0u);
      uint32_t csr = csr_in;
      c.native(in, out, &rax, &fl, &csr);

      CpuState cpu{};
      reset_user_state(cpu);
      cpu.xcr0 |= xstate::SSE | xstate::AVX;
      cpu.cr4 |= kCr4OsXsave;
      for (int r = 0; r < 3; ++r) {
        std::memcpy(&cpu.xmm[r], in + 32 * r, 16);
        std::memcpy(&cpu.ymm_hi[r], in + 32 * r + 16, 16);
      }
      cpu.gpr[RAX] = ~uint64_t(0);
      cpu.rflags = fin;
      cpu.mxcsr = csr_in;
      std::vector<uint8_t> code = c.code;
      code.insert(code.end(), {0x0F, 0x05});
      ASSERT_EQ(run_code(GetParam(), code, cpu), StopReason::Syscall) << c.name;
      uint8_t got[32];
      std::memcpy(got, &cpu.xmm[0], 16);
      std::memcpy(got + 16, &cpu.ymm_hi[0], 16);
      EXPECT_EQ(0, std::memcmp(got, out, 32)) << c.name << " round " << round;
      EXPECT_EQ(cpu.gpr[RAX], rax) << c.name;
      EXPECT_EQ(cpu.rflags & flag::ARITH, fl & flag::ARITH) << c.name;
      EXPECT_EQ(cpu.mxcsr, csr) << c.name << " round " << round;
    }
  }
}

// With the AVX state off in XCR0 (as under --cpu x86-64-v2), AVX instructions are #UD.
TEST_P(Avx, UndefinedWithoutAvxStateInXcr0) {
  CpuState cpu{};
  reset_user_state(cpu);
  cpu.xcr0 &= ~xstate::AVX;
  EXPECT_EQ(run_code(GetParam(), {0xC5, 0xF5, 0xFC, 0xC2, 0x0F, 0x05}, cpu), StopReason::Fault);  // vpaddb
  EXPECT_EQ(cpu.fault.vector, VEC_UD);
}

// A VEX load faulting on its second half leaves the destination as it was.
TEST_P(Avx, UnalignedAndFaultingLoads) {
  CpuState cpu{};
  reset_user_state(cpu);
  cpu.xcr0 |= xstate::AVX;
  cpu.xmm[0].u64[0] = 0x1111;
  cpu.gpr[RBX] = 0x20010;  // 16-byte aligned, not 32: vmovdqa ymm is #GP, vmovdqu is fine
  EXPECT_EQ(run_code(GetParam(), {0xC5, 0xFD, 0x6F, 0x03, 0x0F, 0x05}, cpu), StopReason::Fault);  // vmovdqa ymm0, [rbx]
  EXPECT_EQ(cpu.fault.vector, VEC_GP);
  EXPECT_EQ(cpu.xmm[0].u64[0], 0x1111u);
  ASSERT_EQ(run_code(GetParam(), {0xC5, 0xFE, 0x6F, 0x03, 0x0F, 0x05}, cpu), StopReason::Syscall);  // vmovdqu ymm0, [rbx]
  EXPECT_EQ(cpu.xmm[0].u8[0], uint8_t(16 * 7));
  EXPECT_EQ(cpu.ymm_hi[0].u8[0], uint8_t(32 * 7));
  cpu.gpr[RBX] = 0x30000 - 16;  // the upper half is past the data area's end
  EXPECT_EQ(run_code(GetParam(), {0xC5, 0xFE, 0x6F, 0x03, 0x0F, 0x05}, cpu), StopReason::Fault);
  EXPECT_EQ(cpu.fault.vector, VEC_PF);
  EXPECT_EQ(cpu.xmm[0].u8[0], uint8_t(16 * 7));
}

INSTANTIATE_TEST_SUITE_P(Engines, Avx, ::testing::Values(Engine::Interp, Engine::Jit),
                         [](const auto& i) { return i.param == Engine::Jit ? "jit" : "interp"; });

}  // namespace
}  // namespace vireo::test
