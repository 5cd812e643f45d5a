// FMA3, F16C, AES-NI/VAES, PCLMULQDQ/VPCLMULQDQ and SHA-NI (fma.cpp, f16c.cpp, aes.cpp,
// pclmul.cpp, sha.cpp) on the interpreter and the JIT, against the host: YMM0..3 and a 64-byte
// memory operand (at RBX) from edge-biased values, MXCSR in every rounding mode with FTZ/DAZ,
// the instruction, then YMM0..3, the memory and MXCSR compared bit for bit.
//
// XCR0 is set with the AVX state as an OS does (Vireo turns it on for guests where it
// advertises AVX).
#include <cpuid.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "cpu/cpuid.h"
#include "cpu/host_quirks.h"
#include "native_cases.h"

namespace vireo::test {
namespace {

using NativeC = void (*)(const uint8_t* in, uint8_t* out, uint8_t* mem, uint32_t* mxcsr);

// YMM0..3 from in[0..128), RBX = mem, the instruction, YMM0..3 to out[0..128); MXCSR in and
// out (the host's MXCSR is put back afterwards).
#define NATIVE_C(text)                                                                    \
  [](const uint8_t* in, uint8_t* out, uint8_t* mem, uint32_t* csr) {                      \
    uint32_t saved, c = *csr;                                                             \
    asm volatile("stmxcsr %[saved]\n\tldmxcsr %[c]\n\t"                                  \
                 "vmovdqu (%[i]), %%ymm0\n\tvmovdqu 32(%[i]), %%ymm1\n\t"                  \
                 "vmovdqu 64(%[i]), %%ymm2\n\tvmovdqu 96(%[i]), %%ymm3\n\t" text "\n\t"     \
                 "vmovdqu %%ymm0, (%[o])\n\tvmovdqu %%ymm1, 32(%[o])\n\t"                  \
                 "vmovdqu %%ymm2, 64(%[o])\n\tvmovdqu %%ymm3, 96(%[o])\n\tvzeroupper\n\t"  \
                 "stmxcsr %[c]\n\tldmxcsr %[saved]"                                        \
                 : [c] "+m"(c), [saved] "=m"(saved)                                        \
                 : [i] "r"(in), [o] "r"(out), "b"(mem)                                     \
                 : "xmm0", "xmm1", "xmm2", "xmm3", "memory");                             \
    *csr = c;                                                                             \
  }

// What the inputs are made of: FP lanes (floats or doubles, by round), half-precision
// lanes, or plain bits.
enum class Vals { Fp, Half, Bits };

struct FpCryptoCase {
  Vals vals;
  const char* name;
  std::vector<uint8_t> code;
  NativeC native;
};

bool host_has_all() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  const uint32_t l1 = (1u << 1) | (1u << 12) | (1u << 25) | (1u << 27) | (1u << 28) | (1u << 29);
  if ((c & l1) != l1) return false;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return (b & (1u << 29)) && (c & (1u << 9)) && (c & (1u << 10));
}

const std::vector<FpCryptoCase>& cases() {
  static const std::vector<FpCryptoCase> c = {
#include "interp_fp_crypto_cases.inc"
  };
  return c;
}

template <class T>
T edge(std::mt19937_64& rng) {
  using L = std::numeric_limits<T>;
  const T v[] = {T(0), -T(0), T(1), T(-1), L::infinity(), -L::infinity(), L::quiet_NaN(),
                 -L::quiet_NaN(), L::signaling_NaN(), L::denorm_min(), -L::denorm_min(),
                 L::min(), -L::min(), L::max(), -L::max(), L::epsilon(), T(1) + L::epsilon(),
                 T(3), T(0.1), L::min() / T(3), L::max() / T(2)};
  uint64_t r = rng();
  if (r % 10 < 4) return v[(r >> 8) % std::size(v)];
  // Random values of moderate exponent, so that products and sums meet.
  T m = T(double((r >> 12) & 0xFFFFF) / double(0x100000) + 1.0);
  return (r & 0x100 ? -m : m) * T(std::ldexp(1.0, int((r >> 40) % 40) - 20));
}

void fill(Vals vals, bool doubles, std::mt19937_64& rng, uint8_t* p, size_t n) {
  for (size_t i = 0; i < n;) {
    if (vals == Vals::Fp && doubles) {
      double d = edge<double>(rng);
      std::memcpy(p + i, &d, 8);
      i += 8;
    } else if (vals == Vals::Fp) {
      float f = edge<float>(rng);
      std::memcpy(p + i, &f, 4);
      i += 4;
    } else if (vals == Vals::Half) {
      // Exponent 0 (zero, denormals), 31 (inf, NaNs), or any, with any sign and mantissa.
      uint64_t r = rng();
      uint16_t h = uint16_t(r);
      if ((r >> 16) % 3 == 0) h &= 0x83FF;
      else if ((r >> 16) % 3 == 1) h |= 0x7C00;
      if ((r >> 20) % 5 == 0) h &= 0xFC00;  // ±0 / ±inf
      std::memcpy(p + i, &h, 2);
      i += 2;
    } else {
      uint64_t r = rng();
      p[i++] = (r & 7) == 0 ? 0 : (r & 7) == 1 ? 0xFF : uint8_t(r >> 8);
    }
  }
}

// Lanes of `dst` = -(a * b) lane-wise: the fused forms then cancel, where one rounding differs
// most from two.
template <class T>
void negated_product(uint8_t* dst, const uint8_t* a, const uint8_t* b) {
  for (size_t i = 0; i < 32; i += sizeof(T)) {
    T x, y;
    std::memcpy(&x, a + i, sizeof(T));
    std::memcpy(&y, b + i, sizeof(T));
    T r = -(x * y);
    std::memcpy(dst + i, &r, sizeof(T));
  }
}

class FpCrypto : public ::testing::TestWithParam<Engine> {};

TEST_P(FpCrypto, MatchesHost) {
  if (!host_has_all()) GTEST_SKIP() << "host lacks FMA, F16C, AES, PCLMULQDQ, VAES, VPCLMULQDQ or SHA";
  std::mt19937_64 rng(17);
  for (const FpCryptoCase& c : cases()) {
    const int rounds = c.vals == Vals::Fp ? 24 : 8;
    for (int round = 0; round < rounds; ++round) {
      const bool doubles = std::string(c.name).find("pd ") != std::string::npos ||
                           std::string(c.name).find("sd ") != std::string::npos;
      alignas(32) uint8_t in[128], out[128];
      alignas(64) uint8_t mem[64];
      fill(c.vals, doubles, rng, in, sizeof in);
      fill(c.vals, doubles, rng, mem, sizeof mem);
      if (c.vals == Vals::Fp && round % 6 >= 3) {  // cancellation for each of the three orders
        uint8_t* dst = in + 32 * (round % 3 == 0 ? 2 : round % 3 == 1 ? 0 : 1);
        const uint8_t* a = round % 3 == 1 ? in + 32 : in;
        const uint8_t* b = round % 3 == 0 ? in + 32 : in + 64;
        if (doubles) negated_product<double>(dst, a, b);
        else negated_product<float>(dst, a, b);
      }
      // MXCSR: all exceptions masked, each rounding mode, FTZ and DAZ in turn, sticky flags.
      const uint32_t csr_in = 0x1F80 | uint32_t(round % 4) << 13 | (round / 4 % 2 ? 0x8000u : 0u) |
                              (round / 8 % 2 ? 0x0040u : 0u) | (round == 5 ? 0x3Fu : 0u);
      uint32_t csr = csr_in;
      alignas(64) uint8_t native_mem[64];
      std::memcpy(native_mem, mem, 64);
      c.native(in, out, native_mem, &csr);

      CpuState cpu{};
      reset_user_state(cpu);
      cpu.xcr0 |= xstate::SSE | xstate::AVX;
      cpu.cr4 |= kCr4OsXsave;
      for (int r = 0; r < 4; ++r) {
        std::memcpy(&cpu.xmm[r], in + 32 * r, 16);
        std::memcpy(&cpu.ymm_hi[r], in + 32 * r + 16, 16);
      }
      cpu.gpr[RBX] = 0x20000;
      cpu.mxcsr = csr_in;
      std::vector<uint8_t> data(mem, mem + 64);
      std::vector<uint8_t> code = c.code;
      code.insert(code.end(), {0x0F, 0x05});
      ASSERT_EQ(run_code(GetParam(), code, cpu, &data), StopReason::Syscall) << c.name;
      uint8_t got[128];
      for (int r = 0; r < 4; ++r) {
        std::memcpy(got + 32 * r, &cpu.xmm[r], 16);
        std::memcpy(got + 32 * r + 16, &cpu.ymm_hi[r], 16);
      }
      for (int r = 0; r < 4; ++r)
        EXPECT_EQ(0, std::memcmp(got + 32 * r, out + 32 * r, 32))
            << c.name << " round " << round << " ymm" << r;
      EXPECT_EQ(0, std::memcmp(data.data(), native_mem, 64)) << c.name << " round " << round;
      EXPECT_EQ(cpu.mxcsr, csr) << c.name << " round " << round;
    }
  }
}

CpuState avx_cpu() {
  CpuState cpu{};
  reset_user_state(cpu);
  cpu.xcr0 |= xstate::SSE | xstate::AVX;
  cpu.cr4 |= kCr4OsXsave;
  return cpu;
}

// An unmasked exception is #XM (SIGFPE for a Linux process) with the destination untouched
// and the flag recorded: vfmadd231ss with a signalling NaN, invalid unmasked.
TEST_P(FpCrypto, UnmaskedInvalidIsXmAndKeepsTheDestination) {
  CpuState cpu = avx_cpu();
  cpu.mxcsr = 0x1F80 & ~0x80u;  // IM clear
  cpu.xmm[0].u64[0] = 0x1234;
  cpu.xmm[1].u32[0] = 0x7F800001;  // sNaN
  cpu.xmm[2].u32[0] = 0x3F800000;
  EXPECT_EQ(run_code(GetParam(), {0xC4, 0xE2, 0x71, 0xB9, 0xC2, 0x0F, 0x05}, cpu), StopReason::Fault);
  EXPECT_EQ(cpu.fault.vector, VEC_XM);
  EXPECT_EQ(cpu.xmm[0].u64[0], 0x1234u);
  EXPECT_EQ(cpu.mxcsr & 0x3F, 0x01u);
  // Masked, the same instruction completes with the quieted NaN.
  cpu.mxcsr = 0x1F80;
  EXPECT_EQ(run_code(GetParam(), {0xC4, 0xE2, 0x71, 0xB9, 0xC2, 0x0F, 0x05}, cpu), StopReason::Syscall);
  EXPECT_EQ(cpu.xmm[0].u32[0], 0x7FC00001u);
  EXPECT_EQ(cpu.mxcsr & 0x3F, 0x01u);
}

// VEX forms are #UD without the AVX state in XCR0; the legacy AES/PCLMUL/SHA forms are not.
TEST_P(FpCrypto, VexFormsNeedAvxState) {
  CpuState cpu{};
  reset_user_state(cpu);
  cpu.xcr0 &= ~xstate::AVX;
  EXPECT_EQ(run_code(GetParam(), {0xC4, 0xE2, 0x71, 0xB9, 0xC2, 0x0F, 0x05}, cpu), StopReason::Fault);  // vfmadd231ss
  EXPECT_EQ(cpu.fault.vector, VEC_UD);
  EXPECT_EQ(run_code(GetParam(), {0xC4, 0xE2, 0x71, 0xDC, 0xC2, 0x0F, 0x05}, cpu), StopReason::Fault);  // vaesenc
  EXPECT_EQ(cpu.fault.vector, VEC_UD);
  EXPECT_EQ(run_code(GetParam(), {0xC4, 0xE2, 0x79, 0x13, 0xC1, 0x0F, 0x05}, cpu), StopReason::Fault);  // vcvtph2ps
  EXPECT_EQ(cpu.fault.vector, VEC_UD);
  EXPECT_EQ(run_code(GetParam(), {0x66, 0x0F, 0x38, 0xDC, 0xC1, 0x0F, 0x05}, cpu), StopReason::Syscall);  // aesenc
  EXPECT_EQ(run_code(GetParam(), {0x0F, 0x38, 0xCC, 0xC1, 0x0F, 0x05}, cpu), StopReason::Syscall);  // sha256msg1
}

// Legacy AES and PCLMUL forms need an aligned 16-byte memory operand (#GP); VEX forms do not.
TEST_P(FpCrypto, LegacyFormsNeedAlignedMemory) {
  CpuState cpu = avx_cpu();
  cpu.gpr[RBX] = 0x20008;
  cpu.xmm[0].u64[0] = 0x55;
  EXPECT_EQ(run_code(GetParam(), {0x66, 0x0F, 0x38, 0xDC, 0x03, 0x0F, 0x05}, cpu), StopReason::Fault);  // aesenc xmm0, [rbx]
  EXPECT_EQ(cpu.fault.vector, VEC_GP);
  EXPECT_EQ(cpu.xmm[0].u64[0], 0x55u);
  EXPECT_EQ(run_code(GetParam(), {0x66, 0x0F, 0x3A, 0x44, 0x03, 0x00, 0x0F, 0x05}, cpu), StopReason::Fault);  // pclmulqdq
  EXPECT_EQ(cpu.fault.vector, VEC_GP);
  // SHA-NI: #GP as the SDM says where the host checks it (Intel), taken where it does not (some
  // AMD Zen): cpu/host_quirks.h's probe; difftest's sha family compares it with the host.
  const Xmm before = cpu.xmm[0];
  if (host_sha_checks_alignment()) {
    EXPECT_EQ(run_code(GetParam(), {0x0F, 0x38, 0xC9, 0x03, 0x0F, 0x05}, cpu), StopReason::Fault);  // sha1msg1
    EXPECT_EQ(cpu.fault.vector, VEC_GP);
    EXPECT_EQ(cpu.rip, 0x10000u) << "the fault is the first instruction's (run_code's code)";
    EXPECT_EQ(std::memcmp(&cpu.xmm[0], &before, sizeof before), 0);
  } else {
    EXPECT_EQ(run_code(GetParam(), {0x0F, 0x38, 0xC9, 0x03, 0x0F, 0x05}, cpu), StopReason::Syscall);  // sha1msg1
  }
  EXPECT_EQ(run_code(GetParam(), {0xC4, 0xE2, 0x71, 0xDC, 0x03, 0x0F, 0x05}, cpu), StopReason::Syscall);  // vaesenc
}

// vcvtps2ph whose m64 store straddles into an unmapped page: #PF at that page, and MXCSR has
// the conversion's flags (PE, UE for 1e-10) where the host records them before the fault
// (cpu/host_quirks.h's probe; difftest's vex_forms compares the bytes with the host).
TEST_P(FpCrypto, HalfStoreFaultFlagsAsTheHost) {
  CpuState cpu = avx_cpu();
  cpu.gpr[RBX] = 0x30000 - 4;  // run_code's data area ends at 0x30000
  for (int i = 0; i < 4; ++i) cpu.xmm[1].u32[i] = 0x2EDBE6FF;  // 1e-10f
  cpu.mxcsr = 0x1F80;
  // vcvtps2ph qword ptr [rbx], xmm1, 0
  ASSERT_EQ(run_code(GetParam(), {0xC4, 0xE3, 0x79, 0x1D, 0x0B, 0x00, 0x0F, 0x05}, cpu), StopReason::Fault);
  EXPECT_EQ(cpu.fault.vector, VEC_PF);
  EXPECT_EQ(cpu.fault.address, 0x30000u);
  EXPECT_EQ(cpu.rip, 0x10000u);
  EXPECT_EQ(cpu.mxcsr & 0x3F, host_f16c_store_fault_keeps_mxcsr_flags() ? 0x30u : 0u);
}

// EVEX encodings (AVX-512, not advertised) are #UD: here EVEX.512 vaesenc zmm0, zmm1, zmm2.
TEST_P(FpCrypto, EvexIsUndefined) {
  CpuState cpu = avx_cpu();
  EXPECT_EQ(run_code(GetParam(), {0x62, 0xF2, 0x75, 0x48, 0xDC, 0xC2, 0x0F, 0x05}, cpu), StopReason::Fault);
  EXPECT_EQ(cpu.fault.vector, VEC_UD);
}

INSTANTIATE_TEST_SUITE_P(Engines, FpCrypto, ::testing::Values(Engine::Interp, Engine::Jit),
                         [](const auto& i) { return i.param == Engine::Jit ? "jit" : "interp"; });

}  // namespace
}  // namespace vireo::test
