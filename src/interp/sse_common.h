// Shared helpers for the SSE families (sse_move, sse_int, sse_fp, sse_ssse3, sse41, ...):
// XMM operand access with the legacy-SSE alignment rule, lane-wise mapping, and MXCSR commit.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <limits>

#include "interp/exec.h"

namespace vireo::sse {

// MXCSR layout (SDM Vol. 1, 10.2.3).
inline constexpr uint32_t kMxcsrFlags = 0x3F;     // IE DE ZE OE UE PE
inline constexpr uint32_t kMxcsrMasks = 0x1F80;   // IM DM ZM OM UM PM
inline constexpr uint32_t kMxcsrValid = 0xFFFF;   // bits 31:16 are reserved (#GP if set)
inline constexpr uint32_t kPreComputation = 0x07; // IE DE ZE: detected before the result exists

// The destination/first-source XMM register; an MMX register there (the non-66 0F forms that we
// do not implement) is #UD, as is anything else.
inline Xmm& xreg(Exec& x, const Operand& o) {
  if (o.kind != OpKind::Reg || o.rclass != RegClass::Xmm) x.raise_ud();
  return x.cpu->xmm[o.reg];
}

enum class Align { Required, None };

// Legacy (non-VEX) SSE instructions fault with #GP(0) on a 16-byte memory operand that is not
// 16-byte aligned, except the explicitly unaligned ones (movups/movupd/movdqu/lddqu, ...).
inline void check_align(Exec& x, const Operand& o, uint64_t la, Align a) {
  if (a == Align::Required && o.size == 16 && (la & 15)) x.raise_gp(0);
}

// Reads an XMM register or memory source. Memory reads exactly o.size bytes (the operand's
// architectural width) into the low bytes; the rest of the result is zero.
inline Xmm read_src(Exec& x, const Insn& in, const Operand& o, Align a = Align::Required) {
  Xmm v{};
  if (o.kind == OpKind::Mem) {
    uint64_t la = x.linear(in, o);
    check_align(x, o, la, a);
    std::memcpy(&v, x.host_ptr(la, o.size, false), o.size);
    return v;
  }
  return xreg(x, o);
}

// Writes the low o.size bytes of v to a memory destination, or all of v to an XMM register.
inline void write_dst(Exec& x, const Insn& in, const Operand& o, const Xmm& v,
                      Align a = Align::Required) {
  if (o.kind == OpKind::Mem) {
    uint64_t la = x.linear(in, o);
    check_align(x, o, la, a);
    std::memcpy(x.host_ptr(la, o.size, true), &v, o.size);
    return;
  }
  xreg(x, o) = v;
}

// Lane views: copy in and out of typed arrays (no aliasing questions).
template <class T>
using Lanes = std::array<T, 16 / sizeof(T)>;

template <class T>
inline Lanes<T> lanes(const Xmm& v) {
  Lanes<T> a;
  std::memcpy(a.data(), &v, 16);
  return a;
}
template <class T>
inline Xmm pack(const Lanes<T>& a) {
  Xmm v;
  std::memcpy(&v, a.data(), 16);
  return v;
}

// r[i] = f(a[i], b[i]) over lanes of T.
template <class T, class F>
inline Xmm map2(const Xmm& a, const Xmm& b, F f) {
  Lanes<T> la = lanes<T>(a), lb = lanes<T>(b), r;
  for (size_t i = 0; i < la.size(); ++i) r[i] = T(f(la[i], lb[i]));
  return pack<T>(r);
}
template <class T, class F>
inline Xmm map1(const Xmm& a, F f) {
  Lanes<T> la = lanes<T>(a), r;
  for (size_t i = 0; i < la.size(); ++i) r[i] = T(f(la[i]));
  return pack<T>(r);
}

template <class T>
inline T saturate(int64_t v) {
  constexpr int64_t lo = int64_t(std::numeric_limits<T>::min());
  constexpr int64_t hi = int64_t(std::numeric_limits<T>::max());
  return T(v < lo ? lo : v > hi ? hi : v);
}

// Folds the exception flags `host_flags` raised by an operation into the guest MXCSR. If any
// of them is unmasked in the guest, the instruction raises #XM without writing its destination
// (SDM Vol. 1, 11.5.1): flags are still recorded, but an unmasked pre-computation exception
// (invalid, denormal, divide-by-zero) suppresses the post-computation ones.
inline void commit_fp_flags(Exec& x, uint32_t host_flags) {
  uint32_t f = host_flags & kMxcsrFlags;
  uint32_t& csr = x.cpu->mxcsr;
  uint32_t unmasked = f & ~(csr >> 7) & kMxcsrFlags;
  if (unmasked) {
    if (unmasked & kPreComputation) f &= kPreComputation;
    csr |= f;
    x.raise(VEC_XM);
  }
  csr |= f;
}

// The host MXCSR to run a guest operation under: the guest's rounding, FTZ and DAZ, all
// exceptions masked (so the host never traps), flags cleared (so we see only this operation's).
inline uint32_t host_csr_for(const Exec& x) {
  return (x.cpu->mxcsr & ~kMxcsrFlags) | kMxcsrMasks;
}

}  // namespace vireo::sse
