// SSE lane rearrangement: shuffles (shufps/pd, pshufd/lw/hw, SSSE3 pshufb, palignr),
// unpacks, packs with saturation, whole-register byte shifts, lane insert/extract
// (pinsr*/pextr*, insertps, extractps), SSE4.1 sign/zero extension and blends.
#include <Zydis/Mnemonic.h>

#include "interp/dispatch.h"
#include "interp/exec.h"
#include "interp/sse_common.h"
#include "interp/sse_shuffle_ops.h"

namespace vireo {

namespace {

using namespace sse;

unsigned imm(const Insn& in, int i) { return unsigned(in.op[i].disp) & 0xFF; }

// d = f(d, s, imm) with s from xmm/m128.
template <Xmm (*F)(const Xmm&, const Xmm&, unsigned)>
void with_imm(Exec& x, const Insn& in) {
  Xmm s = read_src(x, in, in.op[1]);
  Xmm& d = xreg(x, in.op[0]);
  d = F(d, s, imm(in, 2));
}
template <Xmm (*F)(const Xmm&, const Xmm&)>
void binary(Exec& x, const Insn& in) {
  Xmm s = read_src(x, in, in.op[1]);
  Xmm& d = xreg(x, in.op[0]);
  d = F(d, s);
}

// pslldq/psrldq: byte shifts of the whole register; counts above 15 clear it.
template <int Left>
void byte_shift(Exec& x, const Insn& in) {
  Xmm& d = xreg(x, in.op[0]);
  d = byte_shifted<Left>(d, imm(in, 1));
}

// pinsrb/w/d/q: the element index is the immediate modulo the element count.
template <class T>
void pinsr(Exec& x, const Insn& in) {
  uint64_t v = x.read(in, in.op[1]);
  Lanes<T> l = lanes<T>(xreg(x, in.op[0]));
  l[imm(in, 2) % l.size()] = T(v);
  xreg(x, in.op[0]) = pack<T>(l);
}
// pextrb/w/d/q: to a GPR (zero-extended) or memory of the element's width.
template <class T>
void pextr(Exec& x, const Insn& in) {
  Lanes<T> l = lanes<T>(xreg(x, in.op[1]));
  uint64_t v = l[imm(in, 2) % l.size()];
  const Operand& d = in.op[0];
  if (d.kind == OpKind::Mem) x.store<T>(x.linear(in, d), T(v));
  else x.write(in, d, v);
}

// insertps: a float from s (lane imm[7:6], or m32) into lane imm[5:4] of d, then zero the lanes
// in imm[3:0].
void insertps(Exec& x, const Insn& in) {
  unsigned i = imm(in, 2);
  uint32_t v = in.op[1].kind == OpKind::Mem ? x.load<uint32_t>(x.linear(in, in.op[1]))
                                            : xreg(x, in.op[1]).u32[(i >> 6) & 3];
  Xmm& d = xreg(x, in.op[0]);
  d.u32[(i >> 4) & 3] = v;
  for (int k = 0; k < 4; ++k)
    if (i & (1u << k)) d.u32[k] = 0;
}

// pmovsx*/pmovzx*: the low elements of the source widened from From to To.
template <class From, class To>
void pmov_extend(Exec& x, const Insn& in) {
  Xmm s = read_src(x, in, in.op[1]);  // memory: exactly the bytes needed, no alignment
  Lanes<From> a = lanes<From>(s);
  Lanes<To> r;
  for (size_t k = 0; k < r.size(); ++k) r[k] = To(a[k]);
  xreg(x, in.op[0]) = pack<To>(r);
}

// Blends: element k comes from s where the selector says so.
template <class T>
Xmm blend_imm(const Xmm& d, const Xmm& s, unsigned i) {
  Lanes<T> a = lanes<T>(d), b = lanes<T>(s);
  for (size_t k = 0; k < a.size(); ++k)
    if (i & (1u << k)) a[k] = b[k];
  return pack<T>(a);
}
// blendvps/blendvpd/pblendvb: the selector is the top bit of each element of XMM0.
template <class T>
void blend_var(Exec& x, const Insn& in) {
  Xmm s = read_src(x, in, in.op[1]);
  Lanes<T> a = lanes<T>(xreg(x, in.op[0])), b = lanes<T>(s);
  Lanes<T> m = lanes<T>(x.cpu->xmm[0]);
  for (size_t k = 0; k < a.size(); ++k)
    if (m[k] >> (sizeof(T) * 8 - 1)) a[k] = b[k];
  xreg(x, in.op[0]) = pack<T>(a);
}

}  // namespace

void register_sse_shuffle(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_SHUFPS] = &with_imm<shufps>;
  t[ZYDIS_MNEMONIC_SHUFPD] = &with_imm<shufpd>;
  t[ZYDIS_MNEMONIC_PSHUFD] = &with_imm<pshufd>;
  t[ZYDIS_MNEMONIC_PSHUFLW] = &with_imm<pshuflw>;
  t[ZYDIS_MNEMONIC_PSHUFHW] = &with_imm<pshufhw>;
  t[ZYDIS_MNEMONIC_PSHUFB] = &binary<pshufb>;
  t[ZYDIS_MNEMONIC_PALIGNR] = &with_imm<palignr>;

  t[ZYDIS_MNEMONIC_UNPCKLPS] = &binary<unpack<uint32_t, 0>>;
  t[ZYDIS_MNEMONIC_UNPCKHPS] = &binary<unpack<uint32_t, 1>>;
  t[ZYDIS_MNEMONIC_UNPCKLPD] = &binary<unpack<uint64_t, 0>>;
  t[ZYDIS_MNEMONIC_UNPCKHPD] = &binary<unpack<uint64_t, 1>>;
  t[ZYDIS_MNEMONIC_PUNPCKLBW] = &binary<unpack<uint8_t, 0>>;
  t[ZYDIS_MNEMONIC_PUNPCKHBW] = &binary<unpack<uint8_t, 1>>;
  t[ZYDIS_MNEMONIC_PUNPCKLWD] = &binary<unpack<uint16_t, 0>>;
  t[ZYDIS_MNEMONIC_PUNPCKHWD] = &binary<unpack<uint16_t, 1>>;
  t[ZYDIS_MNEMONIC_PUNPCKLDQ] = &binary<unpack<uint32_t, 0>>;
  t[ZYDIS_MNEMONIC_PUNPCKHDQ] = &binary<unpack<uint32_t, 1>>;
  t[ZYDIS_MNEMONIC_PUNPCKLQDQ] = &binary<unpack<uint64_t, 0>>;
  t[ZYDIS_MNEMONIC_PUNPCKHQDQ] = &binary<unpack<uint64_t, 1>>;

  t[ZYDIS_MNEMONIC_PACKSSWB] = &binary<pack_sat<int16_t, int8_t>>;
  t[ZYDIS_MNEMONIC_PACKSSDW] = &binary<pack_sat<int32_t, int16_t>>;
  t[ZYDIS_MNEMONIC_PACKUSWB] = &binary<pack_sat<int16_t, uint8_t>>;
  t[ZYDIS_MNEMONIC_PACKUSDW] = &binary<pack_sat<int32_t, uint16_t>>;

  t[ZYDIS_MNEMONIC_PSLLDQ] = &byte_shift<1>;
  t[ZYDIS_MNEMONIC_PSRLDQ] = &byte_shift<0>;

  t[ZYDIS_MNEMONIC_PINSRB] = &pinsr<uint8_t>;
  t[ZYDIS_MNEMONIC_PINSRW] = &pinsr<uint16_t>;
  t[ZYDIS_MNEMONIC_PINSRD] = &pinsr<uint32_t>;
  t[ZYDIS_MNEMONIC_PINSRQ] = &pinsr<uint64_t>;
  t[ZYDIS_MNEMONIC_PEXTRB] = &pextr<uint8_t>;
  t[ZYDIS_MNEMONIC_PEXTRW] = &pextr<uint16_t>;
  t[ZYDIS_MNEMONIC_PEXTRD] = &pextr<uint32_t>;
  t[ZYDIS_MNEMONIC_PEXTRQ] = &pextr<uint64_t>;
  t[ZYDIS_MNEMONIC_EXTRACTPS] = &pextr<uint32_t>;
  t[ZYDIS_MNEMONIC_INSERTPS] = &insertps;

  t[ZYDIS_MNEMONIC_PMOVSXBW] = &pmov_extend<int8_t, int16_t>;
  t[ZYDIS_MNEMONIC_PMOVSXBD] = &pmov_extend<int8_t, int32_t>;
  t[ZYDIS_MNEMONIC_PMOVSXBQ] = &pmov_extend<int8_t, int64_t>;
  t[ZYDIS_MNEMONIC_PMOVSXWD] = &pmov_extend<int16_t, int32_t>;
  t[ZYDIS_MNEMONIC_PMOVSXWQ] = &pmov_extend<int16_t, int64_t>;
  t[ZYDIS_MNEMONIC_PMOVSXDQ] = &pmov_extend<int32_t, int64_t>;
  t[ZYDIS_MNEMONIC_PMOVZXBW] = &pmov_extend<uint8_t, uint16_t>;
  t[ZYDIS_MNEMONIC_PMOVZXBD] = &pmov_extend<uint8_t, uint32_t>;
  t[ZYDIS_MNEMONIC_PMOVZXBQ] = &pmov_extend<uint8_t, uint64_t>;
  t[ZYDIS_MNEMONIC_PMOVZXWD] = &pmov_extend<uint16_t, uint32_t>;
  t[ZYDIS_MNEMONIC_PMOVZXWQ] = &pmov_extend<uint16_t, uint64_t>;
  t[ZYDIS_MNEMONIC_PMOVZXDQ] = &pmov_extend<uint32_t, uint64_t>;

  t[ZYDIS_MNEMONIC_BLENDPS] = &with_imm<blend_imm<uint32_t>>;
  t[ZYDIS_MNEMONIC_BLENDPD] = &with_imm<blend_imm<uint64_t>>;
  t[ZYDIS_MNEMONIC_PBLENDW] = &with_imm<blend_imm<uint16_t>>;
  t[ZYDIS_MNEMONIC_BLENDVPS] = &blend_var<uint32_t>;
  t[ZYDIS_MNEMONIC_BLENDVPD] = &blend_var<uint64_t>;
  t[ZYDIS_MNEMONIC_PBLENDVB] = &blend_var<uint8_t>;
}

}  // namespace vireo
