// MMX: the 64-bit packed-integer instructions on MM0..MM7, with the SSE and SSSE3 additions
// that also take MMX operands (pshufw, pinsrw, pextrw, pmovmskb, maskmovq, movntq, the
// cvt*pi* conversions, movq2dq/movdq2q, pshufb, phadd*, psign*, pabs*, palignr ...).
//
// MMX shares its mnemonics with the SSE2 forms (paddb mm vs paddb xmm). register_mmx() runs
// after the SSE families have registered: for each mnemonic that has an MMX form it keeps the
// XMM handler and installs a router that picks the MMX one when an operand is an MM register.
//
// Aliasing with the x87 (SDM Vol. 1, 9.5 and Table 9-2): MMi is the 64-bit significand of the
// physical x87 register Ri. Every MMX instruction other than EMMS sets TOP to 0 and marks all
// eight registers valid; a write to MMi also sets Ri's sign and exponent bits to all ones.
// EMMS marks all eight empty.
#include <Zydis/Mnemonic.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "interp/dispatch.h"
#include "interp/exec.h"
#include "interp/sse_common.h"
#include "interp/sse_host.h"

namespace vireo {

namespace {

using Q = uint64_t;
using sse::saturate;

bool is_mm(const Operand& o) { return o.kind == OpKind::Reg && o.rclass == RegClass::Mmx; }

// ---- the register file ----
void enter_mmx(Exec& x) {
  x.cpu->x87.top = 0;
  x.cpu->x87.tag_empty = 0;
}
Q mm(Exec& x, unsigned i) {
  Q v;
  std::memcpy(&v, &x.cpu->x87.st[i & 7], 8);
  return v;
}
void set_mm(Exec& x, unsigned i, Q v) {
  auto* r = reinterpret_cast<uint8_t*>(&x.cpu->x87.st[i & 7]);
  std::memcpy(r, &v, 8);
  r[8] = r[9] = 0xFF;
}

// An mm or m64 (or narrower memory: the punpckl* forms read m32) source, zero-extended.
Q src(Exec& x, const Insn& in, const Operand& o) {
  if (o.kind == OpKind::Mem) return x.load_sized(x.linear(in, o), o.size);
  if (is_mm(o)) return mm(x, o.reg);
  x.raise_ud();
}
unsigned dst_reg(Exec& x, const Operand& o) {
  if (!is_mm(o)) x.raise_ud();
  return o.reg;
}
uint8_t imm8(const Insn& in, unsigned i) { return uint8_t(in.op[i].disp); }

// ---- lanes ----
template <class T>
using Lanes = std::array<T, 8 / sizeof(T)>;
template <class T>
Lanes<T> lanes(Q v) {
  Lanes<T> a;
  std::memcpy(a.data(), &v, 8);
  return a;
}
template <class T>
Q pack(const Lanes<T>& a) {
  Q v;
  std::memcpy(&v, a.data(), 8);
  return v;
}
template <class T, class F>
Q map2(Q a, Q b, F f) {
  Lanes<T> la = lanes<T>(a), lb = lanes<T>(b), r;
  for (size_t i = 0; i < r.size(); ++i) r[i] = f(la[i], lb[i]);
  return pack<T>(r);
}

template <class T> Q add(Q a, Q b) { return map2<T>(a, b, [](T p, T q) { return T(p + q); }); }
template <class T> Q sub(Q a, Q b) { return map2<T>(a, b, [](T p, T q) { return T(p - q); }); }
template <class T> Q adds(Q a, Q b) {
  return map2<T>(a, b, [](T p, T q) { return saturate<T>(int64_t(p) + int64_t(q)); });
}
template <class T> Q subs(Q a, Q b) {
  return map2<T>(a, b, [](T p, T q) { return saturate<T>(int64_t(p) - int64_t(q)); });
}
template <class T> Q min(Q a, Q b) { return map2<T>(a, b, [](T p, T q) { return p < q ? p : q; }); }
template <class T> Q max(Q a, Q b) { return map2<T>(a, b, [](T p, T q) { return p > q ? p : q; }); }
template <class T> Q avg(Q a, Q b) {
  return map2<T>(a, b, [](T p, T q) { return T((uint32_t(p) + q + 1) >> 1); });
}
template <class T> Q cmpeq(Q a, Q b) { return map2<T>(a, b, [](T p, T q) { return p == q ? T(~T(0)) : T(0); }); }
template <class T> Q cmpgt(Q a, Q b) { return map2<T>(a, b, [](T p, T q) { return p > q ? T(~T(0)) : T(0); }); }
Q pmullw(Q a, Q b) { return map2<int16_t>(a, b, [](int16_t p, int16_t q) { return int16_t(int32_t(p) * q); }); }
Q pmulhw(Q a, Q b) { return map2<int16_t>(a, b, [](int16_t p, int16_t q) { return int16_t((int32_t(p) * q) >> 16); }); }
Q pmulhuw(Q a, Q b) {
  return map2<uint16_t>(a, b, [](uint16_t p, uint16_t q) { return uint16_t((uint32_t(p) * q) >> 16); });
}
Q pmulhrsw(Q a, Q b) {
  return map2<int16_t>(a, b, [](int16_t p, int16_t q) { return int16_t((((int32_t(p) * q) >> 14) + 1) >> 1); });
}
Q pmuludq(Q a, Q b) { return uint64_t(uint32_t(a)) * uint32_t(b); }
Q pmaddwd(Q a, Q b) {
  auto p = lanes<int16_t>(a), q = lanes<int16_t>(b);
  Lanes<uint32_t> r;
  for (int k = 0; k < 2; ++k)
    r[k] = uint32_t(int32_t(p[2 * k]) * q[2 * k]) + uint32_t(int32_t(p[2 * k + 1]) * q[2 * k + 1]);
  return pack<uint32_t>(r);
}
Q pmaddubsw(Q a, Q b) {  // unsigned bytes of a times signed bytes of b, pairs summed, saturated
  auto p = lanes<uint8_t>(a);
  auto q = lanes<int8_t>(b);
  Lanes<int16_t> r;
  for (int k = 0; k < 4; ++k)
    r[k] = saturate<int16_t>(int32_t(p[2 * k]) * q[2 * k] + int32_t(p[2 * k + 1]) * q[2 * k + 1]);
  return pack<int16_t>(r);
}
Q psadbw(Q a, Q b) {
  auto p = lanes<uint8_t>(a), q = lanes<uint8_t>(b);
  uint32_t s = 0;
  for (int k = 0; k < 8; ++k) s += uint32_t(std::abs(int(p[k]) - int(q[k])));
  return s;
}
Q pand(Q a, Q b) { return a & b; }
Q pandn(Q a, Q b) { return ~a & b; }
Q por(Q a, Q b) { return a | b; }
Q pxor(Q a, Q b) { return a ^ b; }

// Unpacks interleave the low (or high) halves of d and s; packs narrow d then s with saturation.
template <class T, bool High>
Q unpack(Q a, Q b) {
  auto p = lanes<T>(a), q = lanes<T>(b);
  constexpr size_t n = 8 / sizeof(T), h = n / 2;
  Lanes<T> r;
  for (size_t i = 0; i < h; ++i) {
    r[2 * i] = p[i + (High ? h : 0)];
    r[2 * i + 1] = q[i + (High ? h : 0)];
  }
  return pack<T>(r);
}
template <class From, class To>
Q narrow(Q a, Q b) {
  auto p = lanes<From>(a), q = lanes<From>(b);
  constexpr size_t n = 8 / sizeof(From);
  Lanes<To> r;
  for (size_t i = 0; i < n; ++i) {
    r[i] = saturate<To>(int64_t(p[i]));
    r[i + n] = saturate<To>(int64_t(q[i]));
  }
  return pack<To>(r);
}

// SSSE3 on MMX.
Q pshufb(Q a, Q b) {
  auto p = lanes<uint8_t>(a), q = lanes<uint8_t>(b);
  Lanes<uint8_t> r;
  for (int i = 0; i < 8; ++i) r[i] = (q[i] & 0x80) ? 0 : p[q[i] & 7];
  return pack<uint8_t>(r);
}
template <class T, class F>
Q horizontal(Q a, Q b, F f) {
  auto p = lanes<T>(a), q = lanes<T>(b);
  constexpr size_t h = 4 / sizeof(T);
  Lanes<T> r;
  for (size_t i = 0; i < h; ++i) {
    r[i] = f(p[2 * i], p[2 * i + 1]);
    r[i + h] = f(q[2 * i], q[2 * i + 1]);
  }
  return pack<T>(r);
}
template <class T> Q hadd(Q a, Q b) { return horizontal<T>(a, b, [](T p, T q) { return T(p + q); }); }
template <class T> Q hsub(Q a, Q b) { return horizontal<T>(a, b, [](T p, T q) { return T(p - q); }); }
Q phaddsw(Q a, Q b) {
  return horizontal<int16_t>(a, b, [](int16_t p, int16_t q) { return saturate<int16_t>(int32_t(p) + q); });
}
Q phsubsw(Q a, Q b) {
  return horizontal<int16_t>(a, b, [](int16_t p, int16_t q) { return saturate<int16_t>(int32_t(p) - q); });
}
template <class T> Q psign(Q a, Q b) {
  return map2<T>(a, b, [](T p, T q) { return q < 0 ? T(-p) : q == 0 ? T(0) : p; });
}
template <class T> Q pabs(Q, Q b) {
  return map2<T>(b, b, [](T, T q) { return q < 0 ? T(-q) : q; });
}

// ---- handlers ----
template <Q (*F)(Q, Q)>
void binary(Exec& x, const Insn& in) {
  Q s = src(x, in, in.op[1]);
  unsigned d = dst_reg(x, in.op[0]);
  enter_mmx(x);
  set_mm(x, d, F(mm(x, d), s));
}

enum class Shift { Left, Right, Arith };
template <class T, Shift K>
void shift(Exec& x, const Insn& in) {
  const Operand& c = in.op[1];
  uint64_t n = c.kind == OpKind::Imm ? imm8(in, 1) : src(x, in, c);
  unsigned d = dst_reg(x, in.op[0]);
  enter_mmx(x);
  constexpr unsigned bits = sizeof(T) * 8;
  Lanes<T> l = lanes<T>(mm(x, d));
  for (T& v : l) {
    if constexpr (K == Shift::Arith) v = T(std::make_signed_t<T>(v) >> (n >= bits ? bits - 1 : n));
    else if (n >= bits) v = 0;
    else if constexpr (K == Shift::Left) v = T(v << n);
    else v = T(v >> n);
  }
  set_mm(x, d, pack<T>(l));
}

// movd/movq in every direction that involves an MM register.
void mov(Exec& x, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (is_mm(d)) {
    Q v = is_mm(s) ? mm(x, s.reg) : x.read(in, s);  // a GPR or memory, zero-extended
    enter_mmx(x);
    set_mm(x, d.reg, v);
    return;
  }
  if (!is_mm(s)) x.raise_ud();
  Q v = mm(x, s.reg);
  if (d.kind == OpKind::Mem) x.store_sized(x.linear(in, d), d.size, v);
  else x.write(in, d, v);  // a GPR (movd writes 32 bits and zeroes the upper half)
  enter_mmx(x);
}

void movntq(Exec& x, const Insn& in) { mov(x, in); }

void movq2dq(Exec& x, const Insn& in) {  // xmm <- mm, upper quadword zeroed
  Q v = mm(x, in.op[1].reg);
  enter_mmx(x);
  Xmm& d = sse::xreg(x, in.op[0]);
  d.u64[0] = v;
  d.u64[1] = 0;
}
void movdq2q(Exec& x, const Insn& in) {  // mm <- low quadword of xmm
  Q v = sse::xreg(x, in.op[1]).u64[0];
  unsigned d = dst_reg(x, in.op[0]);
  enter_mmx(x);
  set_mm(x, d, v);
}

void pshufw(Exec& x, const Insn& in) {
  auto s = lanes<uint16_t>(src(x, in, in.op[1]));
  unsigned d = dst_reg(x, in.op[0]);
  uint8_t o = imm8(in, 2);
  Lanes<uint16_t> r;
  for (int i = 0; i < 4; ++i) r[i] = s[(o >> (2 * i)) & 3];
  enter_mmx(x);
  set_mm(x, d, pack<uint16_t>(r));
}
void pinsrw(Exec& x, const Insn& in) {
  uint16_t v = uint16_t(x.read(in, in.op[1]));
  unsigned d = dst_reg(x, in.op[0]);
  enter_mmx(x);
  auto l = lanes<uint16_t>(mm(x, d));
  l[imm8(in, 2) & 3] = v;
  set_mm(x, d, pack<uint16_t>(l));
}
void pextrw(Exec& x, const Insn& in) {
  auto l = lanes<uint16_t>(mm(x, in.op[1].reg));
  enter_mmx(x);
  x.set_gpr(in.op[0].reg, in.op[0].size < 4 ? 4 : in.op[0].size, l[imm8(in, 2) & 3]);
}
void pmovmskb(Exec& x, const Insn& in) {
  auto l = lanes<uint8_t>(mm(x, in.op[1].reg));
  uint32_t m = 0;
  for (int i = 0; i < 8; ++i) m |= uint32_t(l[i] >> 7) << i;
  enter_mmx(x);
  x.set_gpr(in.op[0].reg, in.op[0].size < 4 ? 4 : in.op[0].size, m);
}
void palignr(Exec& x, const Insn& in) {
  Q s = src(x, in, in.op[1]);
  unsigned d = dst_reg(x, in.op[0]);
  unsigned n = imm8(in, 2);
  enter_mmx(x);
  // The 16-byte concatenation d:s shifted right by n bytes; the low 8 bytes are the result.
  uint8_t cat[32] = {};
  Q dv = mm(x, d);
  std::memcpy(cat, &s, 8);
  std::memcpy(cat + 8, &dv, 8);
  Q r = 0;
  if (n < 16) std::memcpy(&r, cat + n, 8);
  set_mm(x, d, r);
}
// maskmovq mm1, mm2: the bytes of mm1 whose mask byte in mm2 has its top bit set go to
// DS:[rDI] (the address size applies).
void maskmovq(Exec& x, const Insn& in) {
  const Operand* data = nullptr;
  const Operand* mask = nullptr;
  for (unsigned i = 0; i < in.nops; ++i)
    if (is_mm(in.op[i])) (data ? mask : data) = &in.op[i];
  if (!data || !mask) x.raise_ud();
  auto v = lanes<uint8_t>(mm(x, data->reg)), m = lanes<uint8_t>(mm(x, mask->reg));
  uint64_t la = x.cpu->gpr[RDI];
  if (in.addrsize == 4) la = uint32_t(la);
  for (int i = 0; i < 8; ++i)
    if (m[i] & 0x80) x.store<uint8_t>(la + i, v[i]);
  enter_mmx(x);
}
// (this host also sets TOP to 0, as the other MMX instructions do: measured by the
// random-code difftest; the SDM only says the tags become empty)
void emms(Exec& x, const Insn&) {
  x.cpu->x87.tag_empty = 0xFF;
  x.cpu->x87.top = 0;
}

// Conversions between MMX dword pairs and SSE floats, done with the host's xmm forms of the
// same conversions under the guest MXCSR (no host MMX state is touched).
namespace op {
VIREO_SSE_BIN(cvtdq2ps, "cvtdq2ps") VIREO_SSE_BIN(cvtps2dq, "cvtps2dq")
VIREO_SSE_BIN(cvttps2dq, "cvttps2dq") VIREO_SSE_BIN(cvtdq2pd, "cvtdq2pd")
VIREO_SSE_BIN(cvtpd2dq, "cvtpd2dq") VIREO_SSE_BIN(cvttpd2dq, "cvttpd2dq")
}  // namespace op

Xmm run_fp(Exec& x, sse::host::BinFn f, const Xmm& s) {
  Xmm d{};
  uint32_t csr = sse::host_csr_for(x);
  f(d, s, csr);
  sse::commit_fp_flags(x, csr);
  return d;
}
// cvtpi2ps xmm, mm/m64: two floats into the low half, the high half kept.
void cvtpi2ps(Exec& x, const Insn& in) {
  Xmm s{};
  s.u64[0] = src(x, in, in.op[1]);
  Xmm r = run_fp(x, op::cvtdq2ps, s);
  if (is_mm(in.op[1])) enter_mmx(x);  // a memory source makes no x87-to-MMX transition
  sse::xreg(x, in.op[0]).u64[0] = r.u64[0];
}
void cvtpi2pd(Exec& x, const Insn& in) {
  Xmm s{};
  s.u64[0] = src(x, in, in.op[1]);
  Xmm r = run_fp(x, op::cvtdq2pd, s);
  if (is_mm(in.op[1])) enter_mmx(x);
  sse::xreg(x, in.op[0]) = r;
}
// mm <- two floats (xmm/m64) or two doubles (xmm/m128).
template <sse::host::BinFn F, unsigned SrcBytes>
void to_mm(Exec& x, const Insn& in) {
  Xmm s{};
  const Operand& o = in.op[1];
  if (o.kind == OpKind::Mem) {
    uint64_t la = x.linear(in, o);
    if (SrcBytes == 16 && (la & 15)) x.raise_gp(0);
    std::memcpy(&s, x.host_ptr(la, SrcBytes, false), SrcBytes);
  } else {
    Xmm v = sse::xreg(x, o);
    std::memcpy(&s, &v, SrcBytes);
  }
  unsigned d = dst_reg(x, in.op[0]);
  Xmm r = run_fp(x, F, s);
  enter_mmx(x);
  set_mm(x, d, r.u64[0]);
}

// ---- routing between the XMM and MMX forms of one mnemonic ----
DispatchTable g_xmm_form, g_mmx_form;

void route(Exec& x, const Insn& in) {
  for (unsigned i = 0; i < in.nops; ++i)
    if (is_mm(in.op[i])) return g_mmx_form[in.mnemonic](x, in);
  g_xmm_form[in.mnemonic](x, in);
}

}  // namespace

void register_mmx(DispatchTable& t) {
  auto set = [&](ZydisMnemonic m, Handler h) {
    g_xmm_form[m] = t[m];
    g_mmx_form[m] = h;
    t[m] = &route;
  };
  // Mnemonics that exist only with an MMX operand (which may be the memory one).
  auto only = [&](ZydisMnemonic m, Handler h) { t[m] = h; };
#define B(M, ...) set(ZYDIS_MNEMONIC_##M, &binary<__VA_ARGS__>)
  B(PADDB, add<uint8_t>); B(PADDW, add<uint16_t>); B(PADDD, add<uint32_t>); B(PADDQ, add<uint64_t>);
  B(PSUBB, sub<uint8_t>); B(PSUBW, sub<uint16_t>); B(PSUBD, sub<uint32_t>); B(PSUBQ, sub<uint64_t>);
  B(PADDSB, adds<int8_t>); B(PADDSW, adds<int16_t>); B(PADDUSB, adds<uint8_t>); B(PADDUSW, adds<uint16_t>);
  B(PSUBSB, subs<int8_t>); B(PSUBSW, subs<int16_t>); B(PSUBUSB, subs<uint8_t>); B(PSUBUSW, subs<uint16_t>);
  B(PMULLW, pmullw); B(PMULHW, pmulhw); B(PMULHUW, pmulhuw); B(PMULUDQ, pmuludq);
  B(PMADDWD, pmaddwd); B(PSADBW, psadbw);
  B(PAVGB, avg<uint8_t>); B(PAVGW, avg<uint16_t>);
  B(PMINUB, min<uint8_t>); B(PMAXUB, max<uint8_t>); B(PMINSW, min<int16_t>); B(PMAXSW, max<int16_t>);
  B(PCMPEQB, cmpeq<uint8_t>); B(PCMPEQW, cmpeq<uint16_t>); B(PCMPEQD, cmpeq<uint32_t>);
  B(PCMPGTB, cmpgt<int8_t>); B(PCMPGTW, cmpgt<int16_t>); B(PCMPGTD, cmpgt<int32_t>);
  B(PAND, pand); B(PANDN, pandn); B(POR, por); B(PXOR, pxor);
  B(PUNPCKLBW, (unpack<uint8_t, false>)); B(PUNPCKLWD, (unpack<uint16_t, false>));
  B(PUNPCKLDQ, (unpack<uint32_t, false>)); B(PUNPCKHBW, (unpack<uint8_t, true>));
  B(PUNPCKHWD, (unpack<uint16_t, true>)); B(PUNPCKHDQ, (unpack<uint32_t, true>));
  B(PACKSSWB, (narrow<int16_t, int8_t>)); B(PACKSSDW, (narrow<int32_t, int16_t>));
  B(PACKUSWB, (narrow<int16_t, uint8_t>));
  B(PSHUFB, pshufb); B(PHADDW, hadd<int16_t>); B(PHADDD, hadd<int32_t>); B(PHADDSW, phaddsw);
  B(PHSUBW, hsub<int16_t>); B(PHSUBD, hsub<int32_t>); B(PHSUBSW, phsubsw);
  B(PMADDUBSW, pmaddubsw); B(PMULHRSW, pmulhrsw);
  B(PSIGNB, psign<int8_t>); B(PSIGNW, psign<int16_t>); B(PSIGND, psign<int32_t>);
  B(PABSB, pabs<int8_t>); B(PABSW, pabs<int16_t>); B(PABSD, pabs<int32_t>);
#undef B
  set(ZYDIS_MNEMONIC_PSLLW, &shift<uint16_t, Shift::Left>);
  set(ZYDIS_MNEMONIC_PSLLD, &shift<uint32_t, Shift::Left>);
  set(ZYDIS_MNEMONIC_PSLLQ, &shift<uint64_t, Shift::Left>);
  set(ZYDIS_MNEMONIC_PSRLW, &shift<uint16_t, Shift::Right>);
  set(ZYDIS_MNEMONIC_PSRLD, &shift<uint32_t, Shift::Right>);
  set(ZYDIS_MNEMONIC_PSRLQ, &shift<uint64_t, Shift::Right>);
  set(ZYDIS_MNEMONIC_PSRAW, &shift<uint16_t, Shift::Arith>);
  set(ZYDIS_MNEMONIC_PSRAD, &shift<uint32_t, Shift::Arith>);
  set(ZYDIS_MNEMONIC_MOVD, &mov);
  set(ZYDIS_MNEMONIC_MOVQ, &mov);
  only(ZYDIS_MNEMONIC_MOVNTQ, &movntq);
  only(ZYDIS_MNEMONIC_MOVQ2DQ, &movq2dq);
  only(ZYDIS_MNEMONIC_MOVDQ2Q, &movdq2q);
  only(ZYDIS_MNEMONIC_PSHUFW, &pshufw);
  set(ZYDIS_MNEMONIC_PINSRW, &pinsrw);
  set(ZYDIS_MNEMONIC_PEXTRW, &pextrw);
  set(ZYDIS_MNEMONIC_PMOVMSKB, &pmovmskb);
  set(ZYDIS_MNEMONIC_PALIGNR, &palignr);
  only(ZYDIS_MNEMONIC_MASKMOVQ, &maskmovq);
  only(ZYDIS_MNEMONIC_CVTPI2PS, &cvtpi2ps);
  only(ZYDIS_MNEMONIC_CVTPI2PD, &cvtpi2pd);
  only(ZYDIS_MNEMONIC_CVTPS2PI, &to_mm<op::cvtps2dq, 8>);
  only(ZYDIS_MNEMONIC_CVTTPS2PI, &to_mm<op::cvttps2dq, 8>);
  only(ZYDIS_MNEMONIC_CVTPD2PI, &to_mm<op::cvtpd2dq, 16>);
  only(ZYDIS_MNEMONIC_CVTTPD2PI, &to_mm<op::cvttpd2dq, 16>);
  // EMMS has no operands: always the MMX form.
  t[ZYDIS_MNEMONIC_EMMS] = &emms;
}

}  // namespace vireo
