// SSE lane rearrangements on one 128-bit lane (shuffles, pshufb, palignr, unpacks, packs),
// shared by the legacy forms (sse_shuffle.cpp) and the VEX forms (avx_shuffle.cpp), which run
// them on each 128-bit half as AVX2 does.
#pragma once

#include <cstring>

#include "interp/sse_common.h"

namespace vireo::sse {

inline Xmm shufps(const Xmm& d, const Xmm& s, unsigned i) {
  Xmm r;
  r.u32[0] = d.u32[i & 3];
  r.u32[1] = d.u32[(i >> 2) & 3];
  r.u32[2] = s.u32[(i >> 4) & 3];
  r.u32[3] = s.u32[(i >> 6) & 3];
  return r;
}
inline Xmm shufpd(const Xmm& d, const Xmm& s, unsigned i) {
  Xmm r;
  r.u64[0] = d.u64[i & 1];
  r.u64[1] = s.u64[(i >> 1) & 1];
  return r;
}
inline Xmm pshufd(const Xmm&, const Xmm& s, unsigned i) {
  Xmm r;
  for (int k = 0; k < 4; ++k) r.u32[k] = s.u32[(i >> (2 * k)) & 3];
  return r;
}
inline Xmm pshuflw(const Xmm&, const Xmm& s, unsigned i) {
  Xmm r = s;
  for (int k = 0; k < 4; ++k) r.u16[k] = s.u16[(i >> (2 * k)) & 3];
  return r;
}
inline Xmm pshufhw(const Xmm&, const Xmm& s, unsigned i) {
  Xmm r = s;
  for (int k = 0; k < 4; ++k) r.u16[4 + k] = s.u16[4 + ((i >> (2 * k)) & 3)];
  return r;
}
// SSSE3 pshufb: each byte selects a byte of d by its low 4 bits, or is zero if its top bit is set.
inline Xmm pshufb(const Xmm& d, const Xmm& s) {
  Xmm r;
  for (int k = 0; k < 16; ++k) r.u8[k] = (s.u8[k] & 0x80) ? 0 : d.u8[s.u8[k] & 15];
  return r;
}
// SSSE3 palignr: the 32-byte concatenation d:s shifted right by imm bytes, low 16 kept.
inline Xmm palignr(const Xmm& d, const Xmm& s, unsigned i) {
  uint8_t cat[32];
  std::memcpy(cat, &s, 16);
  std::memcpy(cat + 16, &d, 16);
  Xmm r;
  for (unsigned k = 0; k < 16; ++k) r.u8[k] = k + i < 32 ? cat[k + i] : 0;
  return r;
}

// Interleave the low (High=0) or high halves of d and s, element type T.
template <class T, int High>
inline Xmm unpack(const Xmm& d, const Xmm& s) {
  Lanes<T> a = lanes<T>(d), b = lanes<T>(s), r;
  constexpr size_t half = a.size() / 2;
  for (size_t k = 0; k < half; ++k) {
    r[2 * k] = a[High * half + k];
    r[2 * k + 1] = b[High * half + k];
  }
  return pack<T>(r);
}

// Narrow each element of d then s with saturation to To (signed From -> To).
template <class From, class To>
inline Xmm pack_sat(const Xmm& d, const Xmm& s) {
  Lanes<From> a = lanes<From>(d), b = lanes<From>(s);
  Lanes<To> r;
  for (size_t k = 0; k < a.size(); ++k) {
    r[k] = saturate<To>(a[k]);
    r[a.size() + k] = saturate<To>(b[k]);
  }
  return pack<To>(r);
}

// pslldq/psrldq on one lane: bytes shifted by n (counts above 15 clear it).
template <int Left>
inline Xmm byte_shifted(const Xmm& d, unsigned n) {
  Xmm r{};
  for (unsigned k = 0; k < 16; ++k) {
    if (Left && k >= n) r.u8[k] = d.u8[k - n];
    if (!Left && k + n < 16) r.u8[k] = d.u8[k + n];
  }
  return r;
}

}  // namespace vireo::sse
