// Running one SSE floating-point instruction on the host under the guest's MXCSR.
//
// Floating-point results depend on the rounding mode, FTZ/DAZ, and the exact NaN/ordering rules
// of each instruction; the host is an x86-64 CPU, so executing the very same instruction gives
// the architectural answer bit for bit. Each helper loads the guest control bits into the host
// MXCSR (all exceptions masked), executes the instruction, captures the flags it raised, and
// restores the host MXCSR — all inside one asm statement, so the compiler cannot move the
// operation out from under the rounding mode. Callers fold the flags in with commit_fp_flags().
#pragma once

#include <immintrin.h>

#include <array>
#include <cstdint>
#include <utility>
#include <cstring>

#include "cpu/cpu_state.h"

namespace vireo::sse::host {

inline __m128i to_m(const Xmm& v) { __m128i m; std::memcpy(&m, &v, 16); return m; }
inline Xmm from_m(__m128i m) { Xmm v; std::memcpy(&v, &m, 16); return v; }

// d = op(d, s): `insn %s, %d` in AT&T order.
using BinFn = void (*)(Xmm& d, const Xmm& s, uint32_t& csr);

#define VIREO_SSE_PROLOGUE "stmxcsr %[saved]\n\tldmxcsr %[csr]\n\t"
#define VIREO_SSE_EPILOGUE "\n\tstmxcsr %[csr]\n\tldmxcsr %[saved]"

#define VIREO_SSE_BIN(name, text)                                                  \
  inline void name(Xmm& d, const Xmm& s, uint32_t& csr) {                         \
    __m128i dv = ::vireo::sse::host::to_m(d), sv = ::vireo::sse::host::to_m(s);                                           \
    uint32_t saved;                                                               \
    asm volatile(VIREO_SSE_PROLOGUE text " %[s], %[d]" VIREO_SSE_EPILOGUE         \
                 : [d] "+x"(dv), [csr] "+m"(csr), [saved] "=m"(saved)             \
                 : [s] "x"(sv));                                                  \
    d = ::vireo::sse::host::from_m(dv);                                                               \
  }

// d = op(d, s, imm) for a compile-time immediate.
template <int Imm>
struct WithImm {
#define VIREO_SSE_BIN_IMM(name, text)                                              \
  static void name(Xmm& d, const Xmm& s, uint32_t& csr) {                         \
    __m128i dv = ::vireo::sse::host::to_m(d), sv = ::vireo::sse::host::to_m(s);                                           \
    uint32_t saved;                                                               \
    asm volatile(VIREO_SSE_PROLOGUE text " %[i], %[s], %[d]" VIREO_SSE_EPILOGUE   \
                 : [d] "+x"(dv), [csr] "+m"(csr), [saved] "=m"(saved)             \
                 : [s] "x"(sv), [i] "i"(Imm));                                    \
    d = ::vireo::sse::host::from_m(dv);                                                               \
  }
  VIREO_SSE_BIN_IMM(cmpps, "cmpps")
  VIREO_SSE_BIN_IMM(cmppd, "cmppd")
  VIREO_SSE_BIN_IMM(cmpss, "cmpss")
  VIREO_SSE_BIN_IMM(cmpsd, "cmpsd")
  VIREO_SSE_BIN_IMM(roundps, "roundps")
  VIREO_SSE_BIN_IMM(roundpd, "roundpd")
  VIREO_SSE_BIN_IMM(roundss, "roundss")
  VIREO_SSE_BIN_IMM(roundsd, "roundsd")
  VIREO_SSE_BIN_IMM(dpps, "dpps")
  VIREO_SSE_BIN_IMM(dppd, "dppd")
#undef VIREO_SSE_BIN_IMM
};

// A table of the 256 instantiations of one WithImm member, indexed by the immediate.
template <template <int> class Pick, size_t... I>
constexpr std::array<BinFn, sizeof...(I)> imm_table(std::index_sequence<I...>) {
  return {Pick<int(I)>::fn...};
}

// Flags-producing compares: returns ZF/PF/CF as RFLAGS bits.
#define VIREO_SSE_COMI(name, text)                                                 \
  inline uint64_t name(const Xmm& a, const Xmm& b, uint32_t& csr) {               \
    __m128i av = ::vireo::sse::host::to_m(a), bv = ::vireo::sse::host::to_m(b);                                           \
    uint32_t saved;                                                               \
    bool z, p, c;                                                                 \
    asm volatile(VIREO_SSE_PROLOGUE text " %[b], %[a]" VIREO_SSE_EPILOGUE         \
                 : "=@ccz"(z), "=@ccp"(p), "=@ccc"(c), [csr] "+m"(csr),           \
                   [saved] "=m"(saved)                                            \
                 : [a] "x"(av), [b] "x"(bv));                                     \
    return (z ? flag::ZF : 0) | (p ? flag::PF : 0) | (c ? flag::CF : 0);          \
  }

// Conversion to a general-purpose register: r = op(s).
#define VIREO_SSE_TO_GPR(name, text, T)                                            \
  inline T name(const Xmm& s, uint32_t& csr) {                                    \
    __m128i sv = ::vireo::sse::host::to_m(s);                                                         \
    uint32_t saved;                                                               \
    T r;                                                                          \
    asm volatile(VIREO_SSE_PROLOGUE text " %[s], %[r]" VIREO_SSE_EPILOGUE         \
                 : [r] "=r"(r), [csr] "+m"(csr), [saved] "=m"(saved)              \
                 : [s] "x"(sv));                                                  \
    return r;                                                                     \
  }

// Conversion from a general-purpose register into the low lane of d.
#define VIREO_SSE_FROM_GPR(name, text, T)                                          \
  inline void name(Xmm& d, T v, uint32_t& csr) {                                  \
    __m128i dv = ::vireo::sse::host::to_m(d);                                                         \
    uint32_t saved;                                                               \
    asm volatile(VIREO_SSE_PROLOGUE text " %[v], %[d]" VIREO_SSE_EPILOGUE         \
                 : [d] "+x"(dv), [csr] "+m"(csr), [saved] "=m"(saved)             \
                 : [v] "r"(v));                                                   \
    d = ::vireo::sse::host::from_m(dv);                                                               \
  }

}  // namespace vireo::sse::host
