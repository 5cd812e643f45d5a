// SSE2 packed integer arithmetic on XMM registers: add/sub (wrapping and saturating),
// multiplies, pmaddwd, psadbw, averages, min/max, compares, bitwise logic (also the
// andps/andnps/orps/xorps and pd forms, which are the same bit operations), and shifts by an
// XMM/memory count or an immediate. SSSE3/SSE4.1/SSE4.2 integer additions are in
// sse_int_ext.cpp.
#include <Zydis/Mnemonic.h>

#include <cstdlib>
#include <type_traits>

#include "interp/dispatch.h"
#include "interp/exec.h"
#include "interp/sse_common.h"
#include "interp/sse_int_ops.h"

namespace vireo {

namespace {

using namespace sse;

// d = F(d, s) with s from xmm/m128 (aligned).
template <Xmm (*F)(const Xmm&, const Xmm&)>
void binary(Exec& x, const Insn& in) {
  Xmm s = read_src(x, in, in.op[1]);
  Xmm& d = xreg(x, in.op[0]);
  d = F(d, s);
}

template <class T, Shift K>
void shift_op(Exec& x, const Insn& in) {
  const Operand& c = in.op[1];
  uint64_t n = c.kind == OpKind::Imm ? uint64_t(c.disp) & 0xFF : read_src(x, in, c).u64[0];
  Xmm& d = xreg(x, in.op[0]);
  d = shift<T, K>(d, n);
}

}  // namespace

void register_sse_int(DispatchTable& t) {
#define B(M, ...) t[ZYDIS_MNEMONIC_##M] = &binary<__VA_ARGS__>
  B(PADDB, add<uint8_t>); B(PADDW, add<uint16_t>); B(PADDD, add<uint32_t>); B(PADDQ, add<uint64_t>);
  B(PSUBB, sub<uint8_t>); B(PSUBW, sub<uint16_t>); B(PSUBD, sub<uint32_t>); B(PSUBQ, sub<uint64_t>);
  B(PADDSB, adds<int8_t>); B(PADDSW, adds<int16_t>);
  B(PADDUSB, adds<uint8_t>); B(PADDUSW, adds<uint16_t>);
  B(PSUBSB, subs<int8_t>); B(PSUBSW, subs<int16_t>);
  B(PSUBUSB, subs<uint8_t>); B(PSUBUSW, subs<uint16_t>);
  B(PMULLW, pmullw); B(PMULHW, pmulhw); B(PMULHUW, pmulhuw); B(PMULUDQ, pmuludq);
  B(PMADDWD, pmaddwd); B(PSADBW, psadbw);
  B(PAVGB, avg<uint8_t>); B(PAVGW, avg<uint16_t>);
  B(PMINUB, min<uint8_t>); B(PMAXUB, max<uint8_t>); B(PMINSW, min<int16_t>); B(PMAXSW, max<int16_t>);
  B(PCMPEQB, cmpeq<uint8_t>); B(PCMPEQW, cmpeq<uint16_t>); B(PCMPEQD, cmpeq<uint32_t>);
  B(PCMPGTB, cmpgt<int8_t>); B(PCMPGTW, cmpgt<int16_t>); B(PCMPGTD, cmpgt<int32_t>);
  B(PAND, pand); B(PANDN, pandn); B(POR, por); B(PXOR, pxor);
  B(ANDPS, pand); B(ANDNPS, pandn); B(ORPS, por); B(XORPS, pxor);
  B(ANDPD, pand); B(ANDNPD, pandn); B(ORPD, por); B(XORPD, pxor);
  // SSE4.1 additions of the same shapes.
  B(PMINSB, min<int8_t>); B(PMAXSB, max<int8_t>); B(PMINSD, min<int32_t>); B(PMAXSD, max<int32_t>);
  B(PMINUW, min<uint16_t>); B(PMAXUW, max<uint16_t>); B(PMINUD, min<uint32_t>); B(PMAXUD, max<uint32_t>);
  B(PCMPEQQ, cmpeq<uint64_t>);
  // SSE4.2
  B(PCMPGTQ, cmpgt<int64_t>);
#undef B
  t[ZYDIS_MNEMONIC_PSLLW] = &shift_op<uint16_t, Shift::Left>;
  t[ZYDIS_MNEMONIC_PSLLD] = &shift_op<uint32_t, Shift::Left>;
  t[ZYDIS_MNEMONIC_PSLLQ] = &shift_op<uint64_t, Shift::Left>;
  t[ZYDIS_MNEMONIC_PSRLW] = &shift_op<uint16_t, Shift::Right>;
  t[ZYDIS_MNEMONIC_PSRLD] = &shift_op<uint32_t, Shift::Right>;
  t[ZYDIS_MNEMONIC_PSRLQ] = &shift_op<uint64_t, Shift::Right>;
  t[ZYDIS_MNEMONIC_PSRAW] = &shift_op<uint16_t, Shift::Arith>;
  t[ZYDIS_MNEMONIC_PSRAD] = &shift_op<uint32_t, Shift::Arith>;
}

}  // namespace vireo
