// Integer instructions added after SSE2: SSSE3 (horizontal add/sub, pmaddubsw, pmulhrsw,
// psign*, pabs*), SSE4.1 (pmulld, pmuldq, ptest, mpsadbw, phminposuw) and SSE4.2 crc32.
// SSSE3/SSE4.1 shuffles, blends and extensions are in sse_shuffle.cpp, their min/max and
// compares in sse_int.cpp.
#include <Zydis/Mnemonic.h>

#include <cstdlib>

#include "interp/dispatch.h"
#include "interp/exec.h"
#include "interp/sse_common.h"

namespace vireo {

namespace {

using namespace sse;

template <Xmm (*F)(const Xmm&, const Xmm&)>
void binary(Exec& x, const Insn& in) {
  Xmm s = read_src(x, in, in.op[1]);
  Xmm& d = xreg(x, in.op[0]);
  d = F(d, s);
}

// Horizontal ops: adjacent pairs of d give the low half of the result, pairs of s the high half.
template <class T, bool Sub, bool Sat>
Xmm horizontal(const Xmm& d, const Xmm& s) {
  Lanes<T> a = lanes<T>(d), b = lanes<T>(s), r;
  constexpr size_t half = a.size() / 2;
  for (size_t k = 0; k < half; ++k) {
    int64_t p = Sub ? int64_t(a[2 * k]) - a[2 * k + 1] : int64_t(a[2 * k]) + a[2 * k + 1];
    int64_t q = Sub ? int64_t(b[2 * k]) - b[2 * k + 1] : int64_t(b[2 * k]) + b[2 * k + 1];
    r[k] = Sat ? saturate<T>(p) : T(p);
    r[half + k] = Sat ? saturate<T>(q) : T(q);
  }
  return pack<T>(r);
}

// pmaddubsw: unsigned bytes of d times signed bytes of s, adjacent pairs summed with signed
// word saturation.
Xmm pmaddubsw(const Xmm& d, const Xmm& s) {
  Xmm r;
  for (int k = 0; k < 8; ++k)
    r.i16[k] = saturate<int16_t>(int32_t(d.u8[2 * k]) * s.i8[2 * k] +
                                 int32_t(d.u8[2 * k + 1]) * s.i8[2 * k + 1]);
  return r;
}
// pmulhrsw: signed word product, scaled by 2^-15 with rounding: ((p >> 14) + 1) >> 1.
Xmm pmulhrsw(const Xmm& d, const Xmm& s) {
  return map2<int16_t>(d, s, [](int16_t p, int16_t q) {
    return int16_t((((int32_t(p) * q) >> 14) + 1) >> 1);
  });
}
// psign: negate, keep or zero each element of d by the sign of s.
template <class T>
Xmm psign(const Xmm& d, const Xmm& s) {
  return map2<T>(d, s, [](T p, T q) { return q < 0 ? T(-p) : q == 0 ? T(0) : p; });
}
// pabs: absolute value into the unsigned lane (|INT_MIN| is 2^(n-1), representable unsigned).
template <class T>
Xmm pabs(const Xmm&, const Xmm& s) {
  return map1<T>(s, [](T v) { return v < 0 ? T(-v) : v; });
}

Xmm pmulld(const Xmm& d, const Xmm& s) {
  return map2<uint32_t>(d, s, [](uint32_t p, uint32_t q) { return p * q; });
}
// pmuldq: the even signed dwords multiplied into full signed quadwords.
Xmm pmuldq(const Xmm& d, const Xmm& s) {
  Xmm r;
  for (int k = 0; k < 2; ++k) r.i64[k] = int64_t(d.i32[2 * k]) * s.i32[2 * k];
  return r;
}

// phminposuw: the minimum unsigned word and its (lowest) index; the rest zeroed.
Xmm phminposuw(const Xmm&, const Xmm& s) {
  unsigned best = 0;
  for (unsigned k = 1; k < 8; ++k)
    if (s.u16[k] < s.u16[best]) best = k;
  Xmm r{};
  r.u16[0] = s.u16[best];
  r.u16[1] = uint16_t(best);
  return r;
}

// ptest: ZF = (d AND s) == 0, CF = (NOT d AND s) == 0; other arithmetic flags cleared.
void ptest(Exec& x, const Insn& in) {
  Xmm s = read_src(x, in, in.op[1]);
  const Xmm& d = xreg(x, in.op[0]);
  bool z = ((d.u64[0] & s.u64[0]) | (d.u64[1] & s.u64[1])) == 0;
  bool c = ((~d.u64[0] & s.u64[0]) | (~d.u64[1] & s.u64[1])) == 0;
  x.cpu->rflags = (x.cpu->rflags & ~flag::ARITH) | (z ? flag::ZF : 0) | (c ? flag::CF : 0);
}

// mpsadbw: eight sums of absolute differences between sliding 4-byte windows of d (starting at
// byte 4*imm[2]) and one 4-byte block of s (block imm[1:0]).
void mpsadbw(Exec& x, const Insn& in) {
  Xmm s = read_src(x, in, in.op[1]);
  Xmm& d = xreg(x, in.op[0]);
  unsigned i = unsigned(in.op[2].disp);
  unsigned doff = ((i >> 2) & 1) * 4, soff = (i & 3) * 4;
  Xmm r;
  for (unsigned k = 0; k < 8; ++k) {
    unsigned sum = 0;
    for (unsigned j = 0; j < 4; ++j)
      sum += std::abs(int(d.u8[doff + k + j]) - int(s.u8[soff + j]));
    r.u16[k] = uint16_t(sum);
  }
  d = r;
}

// crc32: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of the source bytes, folded into
// the low 32 bits of the destination; the result is zero-extended to the destination width.
void crc32(Exec& x, const Insn& in) {
  uint64_t v = x.read(in, in.op[1]);
  uint32_t c = uint32_t(x.gpr(in.op[0].reg));
  for (unsigned b = 0; b < in.op[1].size; ++b) {
    c ^= uint8_t(v >> (8 * b));
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
  }
  x.set_gpr(in.op[0].reg, in.op[0].size, c);
}

}  // namespace

void register_sse_int_ext(DispatchTable& t) {
#define B(M, ...) t[ZYDIS_MNEMONIC_##M] = &binary<__VA_ARGS__>
  B(PHADDW, horizontal<int16_t, false, false>); B(PHADDD, horizontal<int32_t, false, false>);
  B(PHADDSW, horizontal<int16_t, false, true>);
  B(PHSUBW, horizontal<int16_t, true, false>); B(PHSUBD, horizontal<int32_t, true, false>);
  B(PHSUBSW, horizontal<int16_t, true, true>);
  B(PMADDUBSW, pmaddubsw); B(PMULHRSW, pmulhrsw);
  B(PSIGNB, psign<int8_t>); B(PSIGNW, psign<int16_t>); B(PSIGND, psign<int32_t>);
  B(PABSB, pabs<int8_t>); B(PABSW, pabs<int16_t>); B(PABSD, pabs<int32_t>);
  B(PMULLD, pmulld); B(PMULDQ, pmuldq); B(PHMINPOSUW, phminposuw);
#undef B
  t[ZYDIS_MNEMONIC_PTEST] = &ptest;
  t[ZYDIS_MNEMONIC_MPSADBW] = &mpsadbw;
  t[ZYDIS_MNEMONIC_CRC32] = &crc32;
}

}  // namespace vireo
