// Helpers for the SSE interpreter tests: edge-value generators, and running `op xmm0, xmm1`
// both on the interpreter and natively (inline asm with the same MXCSR) to compare.
#pragma once

#include <gtest/gtest.h>
#include <immintrin.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "interp_harness.h"

namespace vireo::test {

inline Xmm xmm_of(uint64_t lo, uint64_t hi) {
  Xmm v;
  v.u64[0] = lo;
  v.u64[1] = hi;
  return v;
}
inline bool same(const Xmm& a, const Xmm& b) { return std::memcmp(&a, &b, 16) == 0; }
inline std::string hex(const Xmm& v) {
  char b[40];
  std::snprintf(b, sizeof b, "%016llx:%016llx", (unsigned long long)v.u64[1],
                (unsigned long long)v.u64[0]);
  return b;
}

// MXCSR settings every FP case runs under: default, the three other rounding modes,
// FTZ+DAZ, and default with all sticky flags already set.
inline const std::vector<uint32_t>& test_mxcsrs() {
  static const std::vector<uint32_t> v = {0x1F80, 0x3F80, 0x5F80, 0x7F80, 0x9FC0, 0x1FBF};
  return v;
}

inline uint32_t f32_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline uint64_t f64_bits(double f) { uint64_t u; std::memcpy(&u, &f, 8); return u; }

// Edge values for floats/doubles: zeros, ones, halves (rounding ties), NaNs (quiet, signalling,
// negative), infinities, denormals, extremes, and values that overflow integer conversions.
inline const std::vector<uint32_t>& f32_edges() {
  static const std::vector<uint32_t> v = {
      f32_bits(0.0f), f32_bits(-0.0f), f32_bits(1.0f), f32_bits(-1.0f), f32_bits(0.5f),
      f32_bits(1.5f), f32_bits(2.5f), f32_bits(-2.5f), f32_bits(3.14159f), f32_bits(1e-3f),
      0x7FC00000, 0x7FA00000, 0xFFC00001, 0x7F800000, 0xFF800000, 0x00000001, 0x807FFFFF,
      0x00800000, 0x7F7FFFFF, f32_bits(3e9f), f32_bits(-3e9f), f32_bits(2147483648.0f),
      f32_bits(-2147483648.0f), f32_bits(1e19f), f32_bits(-9.3e18f), f32_bits(1e30f),
      f32_bits(1.17549e-38f), f32_bits(123456.789f)};
  return v;
}
inline const std::vector<uint64_t>& f64_edges() {
  static const std::vector<uint64_t> v = {
      f64_bits(0.0), f64_bits(-0.0), f64_bits(1.0), f64_bits(-1.0), f64_bits(0.5),
      f64_bits(1.5), f64_bits(2.5), f64_bits(-2.5), f64_bits(3.141592653589793), f64_bits(1e-3),
      0x7FF8000000000000, 0x7FF4000000000000, 0xFFF8000000000001, 0x7FF0000000000000,
      0xFFF0000000000000, 0x0000000000000001, 0x800FFFFFFFFFFFFF, 0x0010000000000000,
      0x7FEFFFFFFFFFFFFF, f64_bits(3e9), f64_bits(-3e9), f64_bits(2147483647.5),
      f64_bits(-2147483648.5), f64_bits(9.3e18), f64_bits(-9.3e18), f64_bits(1e300),
      f64_bits(1e-310), f64_bits(1e-39), f64_bits(3.4028236e38), f64_bits(123456.789)};
  return v;
}

// Random XMM values built from edge lanes (mostly) or random bits.
class XmmGen {
 public:
  explicit XmmGen(uint64_t seed) : rng_(seed) {}
  Xmm f32() {
    Xmm v;
    for (auto& l : v.u32) l = pick(f32_edges(), uint32_t(rng_()));
    return v;
  }
  Xmm f64() {
    Xmm v;
    for (auto& l : v.u64) l = pick(f64_edges(), rng_());
    return v;
  }
  Xmm bits() {
    Xmm v;
    v.u64[0] = rng_();
    v.u64[1] = rng_();
    // Salt with boundary lanes that saturating and signed ops care about.
    if (rng_() % 3 == 0) v.u16[rng_() % 8] = uint16_t(rng_() % 2 ? 0x8000 : 0x7FFF);
    if (rng_() % 3 == 0) v.u8[rng_() % 16] = uint8_t(rng_() % 2 ? 0x80 : 0xFF);
    if (rng_() % 4 == 0) v.u32[rng_() % 4] = 0;
    return v;
  }
  uint64_t next() { return rng_(); }

 private:
  template <class T>
  T pick(const std::vector<T>& edges, T random) {
    return rng_() % 4 == 0 ? random : edges[rng_() % edges.size()];
  }
  std::mt19937_64 rng_;
};

// Native d = op(d, s) under MXCSR csr (exceptions masked by the caller's csr); csr returns the
// MXCSR afterwards.
using NativeBin = void (*)(Xmm& d, const Xmm& s, uint32_t& csr);

#define NATIVE_XMM(text)                                                                  \
  [](Xmm& d, const Xmm& s, uint32_t& csr) {                                             \
    __m128i dv, sv;                                                                     \
    std::memcpy(&dv, &d, 16);                                                           \
    std::memcpy(&sv, &s, 16);                                                           \
    uint32_t saved;                                                                     \
    asm volatile("stmxcsr %[sv]\n\tldmxcsr %[c]\n\t" text                               \
                 "\n\tstmxcsr %[c]\n\tldmxcsr %[sv]"                                    \
                 : [d] "+x"(dv), [c] "+m"(csr), [sv] "=m"(saved)                        \
                 : [s] "x"(sv));                                                        \
    std::memcpy(&d, &dv, 16);                                                           \
  }

// The same with an immediate operand %[i] (a constant expression, e.g. a template parameter).
#define NATIVE_XMM_IMM(text, imm)                                                         \
  [](Xmm& d, const Xmm& s, uint32_t& csr) {                                             \
    __m128i dv, sv;                                                                     \
    std::memcpy(&dv, &d, 16);                                                           \
    std::memcpy(&sv, &s, 16);                                                           \
    uint32_t saved;                                                                     \
    asm volatile("stmxcsr %[sv]\n\tldmxcsr %[c]\n\t" text                               \
                 "\n\tstmxcsr %[c]\n\tldmxcsr %[sv]"                                    \
                 : [d] "+x"(dv), [c] "+m"(csr), [sv] "=m"(saved)                        \
                 : [s] "x"(sv), [i] "i"(imm));                                          \
    std::memcpy(&d, &dv, 16);                                                           \
  }

// Runs `bytes` (which must encode op xmm0, xmm1 [, imm]) on the interpreter with xmm0 = d,
// xmm1 = s and the given MXCSR, and compares xmm0 and MXCSR with the native result.
inline void check_xmm_op(InterpHarness& h, const char* name, const std::vector<uint8_t>& bytes,
                         NativeBin native, const Xmm& d, const Xmm& s, uint32_t csr) {
  Xmm nd = d;
  uint32_t ncsr = csr;
  native(nd, s, ncsr);
  h.cpu.xmm[0] = d;
  h.cpu.xmm[1] = s;
  h.cpu.mxcsr = csr;
  ASSERT_EQ(h.run(bytes), StopReason::None) << name;
  EXPECT_TRUE(same(h.cpu.xmm[0], nd)) << name << " d=" << hex(d) << " s=" << hex(s) << " csr="
                                      << std::hex << csr << " got " << hex(h.cpu.xmm[0])
                                      << " want " << hex(nd);
  EXPECT_EQ(h.cpu.mxcsr, ncsr) << name << " d=" << hex(d) << " s=" << hex(s) << " csr="
                               << std::hex << csr;
}

}  // namespace vireo::test
