// AVX/AVX2 in-lane rearrangements and shifts (VEX.128 and VEX.256): vpshufb, unpacks, packs,
// vpalignr, vpshufd/lw/hw, vshufps/pd, immediate blends, vpslldq/vpsrldq and the element
// shifts by an immediate or an XMM count. AVX2 runs each of these on the two 128-bit halves
// independently (SDM Vol. 1, 14.7), so the SSE lane operations (sse_shuffle_ops.h,
// sse_int_ops.h) serve both widths. Not advertised in CPUID yet (see avx_int.cpp).
#include <Zydis/Mnemonic.h>

#include "interp/avx_common.h"
#include "interp/dispatch.h"
#include "interp/exec.h"
#include "interp/sse_int_ops.h"
#include "interp/sse_shuffle_ops.h"

namespace vireo {

namespace {

using avx::Ymm;

unsigned imm8(const Insn& in, int i) { return unsigned(in.op[i].disp) & 0xFF; }

// d = F(s1, s2) per half.
template <Xmm (*F)(const Xmm&, const Xmm&)>
void binary(Exec& x, const Insn& in) {
  avx::check_enabled(x);
  Ymm b = avx::read(x, in, in.op[2]);
  Ymm a = avx::read(x, in, in.op[1]);
  avx::write(x, in, in.op[0], Ymm{F(a.lo, b.lo), avx::wide(in.op[0]) ? F(a.hi, b.hi) : Xmm{}});
}

// How the immediate reaches the upper half: the same byte, or its next bits (vshufpd uses
// 2 bits per half, vblendps 4, vblendpd 2).
template <unsigned HiShift>
unsigned hi_imm(unsigned i) { return i >> HiShift; }

// d = F(s1, s2, imm) per half (vpalignr, vshufps, vpblendw, ...).
template <Xmm (*F)(const Xmm&, const Xmm&, unsigned), unsigned HiShift = 0>
void binary_imm(Exec& x, const Insn& in) {
  avx::check_enabled(x);
  Ymm b = avx::read(x, in, in.op[2]);
  Ymm a = avx::read(x, in, in.op[1]);
  unsigned i = imm8(in, 3);
  avx::write(x, in, in.op[0],
             Ymm{F(a.lo, b.lo, i), avx::wide(in.op[0]) ? F(a.hi, b.hi, hi_imm<HiShift>(i)) : Xmm{}});
}

// d = F(_, s, imm) per half (vpshufd ymm1, ymm2/m256, imm8 and friends).
template <Xmm (*F)(const Xmm&, const Xmm&, unsigned)>
void unary_imm(Exec& x, const Insn& in) {
  avx::check_enabled(x);
  Ymm s = avx::read(x, in, in.op[1]);
  unsigned i = imm8(in, 2);
  avx::write(x, in, in.op[0], Ymm{F(s.lo, s.lo, i), avx::wide(in.op[0]) ? F(s.hi, s.hi, i) : Xmm{}});
}

template <class T>
Xmm blend(const Xmm& d, const Xmm& s, unsigned i) {
  sse::Lanes<T> a = sse::lanes<T>(d), b = sse::lanes<T>(s);
  for (size_t k = 0; k < a.size(); ++k)
    if (i & (1u << k)) a[k] = b[k];
  return sse::pack<T>(a);
}

// vpslldq/vpsrldq ymm1, ymm2, imm8: byte shifts within each half.
template <int Left>
void byte_shift(Exec& x, const Insn& in) {
  avx::check_enabled(x);
  Ymm s = avx::read(x, in, in.op[1]);
  unsigned n = imm8(in, 2);
  avx::write(x, in, in.op[0],
             Ymm{sse::byte_shifted<Left>(s.lo, n), avx::wide(in.op[0]) ? sse::byte_shifted<Left>(s.hi, n) : Xmm{}});
}

// vpsll/vpsrl/vpsra ymm1, ymm2, imm8 | xmm3/m128: one count (the immediate, or the low 64 bits
// of the 128-bit count operand) for every element of both halves.
template <class T, sse::Shift K>
void shift(Exec& x, const Insn& in) {
  avx::check_enabled(x);
  const Operand& c = in.op[2];
  uint64_t n = c.kind == OpKind::Imm ? uint64_t(c.disp) & 0xFF : avx::read(x, in, c).lo.u64[0];
  Ymm s = avx::read(x, in, in.op[1]);
  avx::write(x, in, in.op[0],
             Ymm{sse::shift<T, K>(s.lo, n), avx::wide(in.op[0]) ? sse::shift<T, K>(s.hi, n) : Xmm{}});
}

// vmovd/vmovq between an XMM register and a GPR or memory, and vmovq xmm, xmm/m64: the
// element zero-extended into the destination register (bits 255:32 or 255:64 cleared).
void vmov_scalar(Exec& x, const Insn& in) {
  avx::check_enabled(x);
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  const unsigned n = in.mnemonic == ZYDIS_MNEMONIC_VMOVD ? 4 : 8;
  uint64_t v;
  if (s.kind == OpKind::Reg && s.rclass == RegClass::Xmm) v = x.cpu->xmm[s.reg].u64[0];
  else v = s.kind == OpKind::Mem ? x.load_sized(x.linear(in, s), n) : x.read(in, s);
  if (n == 4) v = uint32_t(v);
  if (d.kind == OpKind::Reg && d.rclass == RegClass::Xmm) {
    Ymm r{};
    r.lo.u64[0] = v;
    Operand narrow = d;
    narrow.size = 16;
    avx::write(x, in, narrow, r);
  } else if (d.kind == OpKind::Mem) {
    x.store_sized(x.linear(in, d), n, v);
  } else {
    x.write(in, d, v);
  }
}

}  // namespace

void register_avx_shuffle(DispatchTable& t) {
  using namespace sse;
  t[ZYDIS_MNEMONIC_VPSHUFB] = &binary<pshufb>;
  t[ZYDIS_MNEMONIC_VPUNPCKLBW] = &binary<unpack<uint8_t, 0>>;
  t[ZYDIS_MNEMONIC_VPUNPCKHBW] = &binary<unpack<uint8_t, 1>>;
  t[ZYDIS_MNEMONIC_VPUNPCKLWD] = &binary<unpack<uint16_t, 0>>;
  t[ZYDIS_MNEMONIC_VPUNPCKHWD] = &binary<unpack<uint16_t, 1>>;
  t[ZYDIS_MNEMONIC_VPUNPCKLDQ] = &binary<unpack<uint32_t, 0>>;
  t[ZYDIS_MNEMONIC_VPUNPCKHDQ] = &binary<unpack<uint32_t, 1>>;
  t[ZYDIS_MNEMONIC_VPUNPCKLQDQ] = &binary<unpack<uint64_t, 0>>;
  t[ZYDIS_MNEMONIC_VPUNPCKHQDQ] = &binary<unpack<uint64_t, 1>>;
  t[ZYDIS_MNEMONIC_VUNPCKLPS] = &binary<unpack<uint32_t, 0>>;
  t[ZYDIS_MNEMONIC_VUNPCKHPS] = &binary<unpack<uint32_t, 1>>;
  t[ZYDIS_MNEMONIC_VUNPCKLPD] = &binary<unpack<uint64_t, 0>>;
  t[ZYDIS_MNEMONIC_VUNPCKHPD] = &binary<unpack<uint64_t, 1>>;
  t[ZYDIS_MNEMONIC_VPACKSSWB] = &binary<pack_sat<int16_t, int8_t>>;
  t[ZYDIS_MNEMONIC_VPACKSSDW] = &binary<pack_sat<int32_t, int16_t>>;
  t[ZYDIS_MNEMONIC_VPACKUSWB] = &binary<pack_sat<int16_t, uint8_t>>;
  t[ZYDIS_MNEMONIC_VPACKUSDW] = &binary<pack_sat<int32_t, uint16_t>>;
  t[ZYDIS_MNEMONIC_VPALIGNR] = &binary_imm<palignr>;
  t[ZYDIS_MNEMONIC_VSHUFPS] = &binary_imm<shufps>;
  t[ZYDIS_MNEMONIC_VSHUFPD] = &binary_imm<shufpd, 2>;
  t[ZYDIS_MNEMONIC_VPBLENDW] = &binary_imm<blend<uint16_t>>;
  t[ZYDIS_MNEMONIC_VBLENDPS] = &binary_imm<blend<uint32_t>, 4>;
  t[ZYDIS_MNEMONIC_VBLENDPD] = &binary_imm<blend<uint64_t>, 2>;
  t[ZYDIS_MNEMONIC_VPBLENDD] = &binary_imm<blend<uint32_t>, 4>;
  t[ZYDIS_MNEMONIC_VPSHUFD] = &unary_imm<pshufd>;
  t[ZYDIS_MNEMONIC_VPSHUFLW] = &unary_imm<pshuflw>;
  t[ZYDIS_MNEMONIC_VPSHUFHW] = &unary_imm<pshufhw>;
  t[ZYDIS_MNEMONIC_VPSLLDQ] = &byte_shift<1>;
  t[ZYDIS_MNEMONIC_VPSRLDQ] = &byte_shift<0>;
  t[ZYDIS_MNEMONIC_VPSLLW] = &shift<uint16_t, Shift::Left>;
  t[ZYDIS_MNEMONIC_VPSLLD] = &shift<uint32_t, Shift::Left>;
  t[ZYDIS_MNEMONIC_VPSLLQ] = &shift<uint64_t, Shift::Left>;
  t[ZYDIS_MNEMONIC_VPSRLW] = &shift<uint16_t, Shift::Right>;
  t[ZYDIS_MNEMONIC_VPSRLD] = &shift<uint32_t, Shift::Right>;
  t[ZYDIS_MNEMONIC_VPSRLQ] = &shift<uint64_t, Shift::Right>;
  t[ZYDIS_MNEMONIC_VPSRAW] = &shift<uint16_t, Shift::Arith>;
  t[ZYDIS_MNEMONIC_VPSRAD] = &shift<uint32_t, Shift::Arith>;
  t[ZYDIS_MNEMONIC_VMOVD] = &vmov_scalar;
  t[ZYDIS_MNEMONIC_VMOVQ] = &vmov_scalar;
}

}  // namespace vireo
