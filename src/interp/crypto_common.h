// Shared operand plumbing for the crypto families (aes.cpp, pclmul.cpp, sha.cpp): the legacy
// SSE form `op xmm1, xmm2/m128` and the VEX form `vop xmm1/ymm1, xmm2/ymm2, xmm3/m128/ymm3/m256`
// both run a per-128-bit-lane operation f(src1, src2) -> dest.
//
// These instructions are integer-only and are computed portably in C++ (no host AES-NI, PCLMUL
// or SHA instructions), so Vireo implements them, and advertises them, on any x86-64 host.
#pragma once

#include "interp/avx_common.h"
#include "interp/exec.h"
#include "interp/sse_common.h"

namespace vireo::crypto {

// Legacy SSE form: dest = f(dest, src); a 16-byte memory source must be aligned (SDM Vol. 1,
// 11.6.7 / the instructions' "Exceptions Type 4"); bits 255:128 of the destination are kept.
// `align`: SHA-NI takes a misaligned memory operand on some hosts (AMD Zen), where the SDM lists
// the alignment #GP for it too; native execution is the oracle (cpu/host_quirks.h).
template <class F>
inline void legacy2(Exec& x, const Insn& in, F f, sse::Align align = sse::Align::Required) {
  Xmm a = sse::xreg(x, in.op[0]);
  Xmm b = sse::read_src(x, in, in.op[1], align);
  sse::xreg(x, in.op[0]) = f(a, b);
}

// VEX form, three operands: dest = f(src1, src2) per 128-bit lane; no alignment rule; a
// VEX.128 destination zeroes bits 255:128. Needs the AVX state enabled (avx::check_enabled).
template <class F>
inline void vex3(Exec& x, const Insn& in, F f) {
  avx::check_enabled(x);
  avx::Ymm a = avx::read(x, in, in.op[1]);
  avx::Ymm b = avx::read(x, in, in.op[2]);
  avx::Ymm r{};
  r.lo = f(a.lo, b.lo);
  if (avx::wide(in.op[0])) r.hi = f(a.hi, b.hi);
  avx::write(x, in, in.op[0], r);
}

// VEX form, two operands (vaesimc, vaeskeygenassist): dest = f(src), 128 bits only.
template <class F>
inline void vex2(Exec& x, const Insn& in, F f) {
  avx::check_enabled(x);
  if (avx::wide(in.op[0])) x.raise_ud();  // VEX.L = 1 is #UD for these
  avx::Ymm a = avx::read(x, in, in.op[1]);
  avx::Ymm r{};
  r.lo = f(a.lo);
  avx::write(x, in, in.op[0], r);
}

// The immediate byte of an instruction (its last operand).
inline uint8_t imm8(const Insn& in) { return uint8_t(in.op[in.nops - 1].disp); }

}  // namespace vireo::crypto
