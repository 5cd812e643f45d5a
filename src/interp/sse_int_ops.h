// SSE2/SSE4 packed-integer lane operations on one 128-bit lane, shared by the legacy SSE
// forms (sse_int.cpp) and the VEX forms (avx_int.cpp), which run them on each 128-bit half.
#pragma once

#include <cstdlib>
#include <type_traits>

#include "interp/sse_common.h"

namespace vireo::sse {

// Lane-wise operations written once as function objects over the lane type.
template <class T>
inline Xmm add(const Xmm& a, const Xmm& b) { return map2<T>(a, b, [](T p, T q) { return T(p + q); }); }
template <class T>
inline Xmm sub(const Xmm& a, const Xmm& b) { return map2<T>(a, b, [](T p, T q) { return T(p - q); }); }
template <class T>
inline Xmm adds(const Xmm& a, const Xmm& b) {
  return map2<T>(a, b, [](T p, T q) { return saturate<T>(int64_t(p) + int64_t(q)); });
}
template <class T>
inline Xmm subs(const Xmm& a, const Xmm& b) {
  return map2<T>(a, b, [](T p, T q) { return saturate<T>(int64_t(p) - int64_t(q)); });
}
template <class T>
inline Xmm min(const Xmm& a, const Xmm& b) { return map2<T>(a, b, [](T p, T q) { return p < q ? p : q; }); }
template <class T>
inline Xmm max(const Xmm& a, const Xmm& b) { return map2<T>(a, b, [](T p, T q) { return p > q ? p : q; }); }
template <class T>
inline Xmm avg(const Xmm& a, const Xmm& b) {  // rounds up: (p + q + 1) >> 1 without overflow
  return map2<T>(a, b, [](T p, T q) { return T((uint32_t(p) + q + 1) >> 1); });
}
template <class T>
inline Xmm cmpeq(const Xmm& a, const Xmm& b) { return map2<T>(a, b, [](T p, T q) { return p == q ? T(~T(0)) : T(0); }); }
template <class T>
inline Xmm cmpgt(const Xmm& a, const Xmm& b) { return map2<T>(a, b, [](T p, T q) { return p > q ? T(~T(0)) : T(0); }); }

inline Xmm pmullw(const Xmm& a, const Xmm& b) {
  return map2<int16_t>(a, b, [](int16_t p, int16_t q) { return int16_t(int32_t(p) * q); });
}
inline Xmm pmulhw(const Xmm& a, const Xmm& b) {
  return map2<int16_t>(a, b, [](int16_t p, int16_t q) { return int16_t((int32_t(p) * q) >> 16); });
}
inline Xmm pmulhuw(const Xmm& a, const Xmm& b) {
  return map2<uint16_t>(a, b, [](uint16_t p, uint16_t q) { return uint16_t((uint32_t(p) * q) >> 16); });
}
// pmuludq: the even unsigned dwords multiplied into full quadwords.
inline Xmm pmuludq(const Xmm& a, const Xmm& b) {
  Xmm r;
  for (int k = 0; k < 2; ++k) r.u64[k] = uint64_t(a.u32[2 * k]) * b.u32[2 * k];
  return r;
}
// pmaddwd: adjacent signed word products summed into dwords (0x8000*0x8000*2 wraps to
// 0x80000000, as on hardware).
inline Xmm pmaddwd(const Xmm& a, const Xmm& b) {
  Xmm r;
  for (int k = 0; k < 4; ++k)
    r.u32[k] = uint32_t(int32_t(a.i16[2 * k]) * b.i16[2 * k]) +
               uint32_t(int32_t(a.i16[2 * k + 1]) * b.i16[2 * k + 1]);
  return r;
}
// psadbw: sum of absolute byte differences of each 8-byte half, into the low word of each
// quadword.
inline Xmm psadbw(const Xmm& a, const Xmm& b) {
  Xmm r{};
  for (int h = 0; h < 2; ++h) {
    uint32_t s = 0;
    for (int k = 0; k < 8; ++k) s += std::abs(int(a.u8[8 * h + k]) - int(b.u8[8 * h + k]));
    r.u64[h] = s;
  }
  return r;
}

inline Xmm pand(const Xmm& a, const Xmm& b) { return map2<uint64_t>(a, b, [](uint64_t p, uint64_t q) { return p & q; }); }
inline Xmm pandn(const Xmm& a, const Xmm& b) { return map2<uint64_t>(a, b, [](uint64_t p, uint64_t q) { return ~p & q; }); }
inline Xmm por(const Xmm& a, const Xmm& b) { return map2<uint64_t>(a, b, [](uint64_t p, uint64_t q) { return p | q; }); }
inline Xmm pxor(const Xmm& a, const Xmm& b) { return map2<uint64_t>(a, b, [](uint64_t p, uint64_t q) { return p ^ q; }); }

// Shifts. The count is the low 64 bits of an XMM/m128 operand, or an imm8; counts at or above
// the lane width give 0 (logical) or the sign fill (arithmetic).
enum class Shift { Left, Right, Arith };

template <class T, Shift K>
inline Xmm shift(const Xmm& a, uint64_t n) {
  constexpr unsigned bits = sizeof(T) * 8;
  return map1<T>(a, [n](T v) -> T {
    if constexpr (K == Shift::Arith) {
      using S = std::make_signed_t<T>;
      return T(S(v) >> (n >= bits ? bits - 1 : n));
    } else if (n >= bits) {
      return 0;
    } else if constexpr (K == Shift::Left) {
      return T(v << n);
    } else {
      return T(v >> n);
    }
  });
}

}  // namespace vireo::sse
