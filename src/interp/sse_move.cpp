// SSE data movement: movd/movq, full-width moves (aligned, unaligned, non-temporal), scalar
// moves, half moves, sign-mask extraction, masked store, MXCSR load/store, SSE3 duplicating
// moves. Shuffles, unpacks, packs and lane insert/extract live in sse_shuffle.cpp.
//
// The non-66 0F forms of movd/movq etc. name MMX registers, which we do not implement: any
// MMX operand reaches xreg() or Exec::write() and raises #UD.
#include <Zydis/Mnemonic.h>

#include "cpu/host_quirks.h"
#include "interp/dispatch.h"
#include "interp/exec.h"
#include "interp/sse_common.h"
#include "interp/sse_dispatch_shared.h"

namespace vireo {

namespace {

using namespace sse;

bool is_xmm(const Operand& o) { return o.kind == OpKind::Reg && o.rclass == RegClass::Xmm; }

// movd/movq in all their SSE forms: into an XMM register the value is zero-extended to 128
// bits; out of one, the low 4 or 8 bytes go to a GPR (32-bit writes zero-extend) or memory.
void movd_movq(Exec& x, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (is_xmm(d)) {
    Xmm v{};
    v.u64[0] = is_xmm(s) ? x.cpu->xmm[s.reg].u64[0] : x.read(in, s);
    if (s.size == 4) v.u64[0] = uint32_t(v.u64[0]);
    x.cpu->xmm[d.reg] = v;
    return;
  }
  uint64_t v = xreg(x, s).u64[0];
  x.write(in, d, d.size == 4 ? uint32_t(v) : v);
}

// Full 128-bit moves, either direction.
template <Align A>
void mov128(Exec& x, const Insn& in) {
  Xmm v = read_src(x, in, in.op[1], A);
  write_dst(x, in, in.op[0], v, A);
}

// Non-temporal stores: memory destination only (the register form is #UD).
void movnt128(Exec& x, const Insn& in) {
  if (in.op[0].kind != OpKind::Mem) x.raise_ud();
  mov128<Align::Required>(x, in);
}

void movnti(Exec& x, const Insn& in) {
  if (in.op[0].kind != OpKind::Mem) x.raise_ud();
  x.write(in, in.op[0], x.read(in, in.op[1]));
}

// movntdqa (SSE4.1): an aligned load.
void movntdqa(Exec& x, const Insn& in) {
  if (in.op[1].kind != OpKind::Mem) x.raise_ud();
  mov128<Align::Required>(x, in);
}

// movss/movsd: register to register merges the low element; a load zeroes the rest; a store
// writes just the element.
template <unsigned N>
void mov_scalar(Exec& x, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (d.kind == OpKind::Mem) {
    Xmm v = xreg(x, s);
    std::memcpy(x.host_ptr(x.linear(in, d), N, true), &v, N);
  } else if (s.kind == OpKind::Mem) {
    Xmm v{};
    std::memcpy(&v, x.host_ptr(x.linear(in, s), N, false), N);
    xreg(x, d) = v;
  } else {
    Xmm v = xreg(x, d);
    std::memcpy(&v, &xreg(x, s), N);
    xreg(x, d) = v;
  }
}

// movlps/movlpd (low half) and movhps/movhpd (high half) between a register and m64; the
// register-register encodings of 0F 12 / 0F 16 are movhlps/movlhps, decoded separately.
template <unsigned Half>
void mov_half(Exec& x, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (d.kind == OpKind::Mem) {
    x.store<uint64_t>(x.linear(in, d), xreg(x, s).u64[Half]);
  } else {
    if (s.kind != OpKind::Mem) x.raise_ud();
    uint64_t v = x.load<uint64_t>(x.linear(in, s));
    xreg(x, d).u64[Half] = v;
  }
}

void movhlps(Exec& x, const Insn& in) {
  uint64_t v = xreg(x, in.op[1]).u64[1];
  xreg(x, in.op[0]).u64[0] = v;
}
void movlhps(Exec& x, const Insn& in) {
  uint64_t v = xreg(x, in.op[1]).u64[0];
  xreg(x, in.op[0]).u64[1] = v;
}

// Sign bits of each lane, packed into the low bits of a GPR (the rest zero).
template <class T>
void movmsk(Exec& x, const Insn& in) {
  Lanes<T> l = lanes<T>(xreg(x, in.op[1]));
  uint64_t m = 0;
  for (size_t i = 0; i < l.size(); ++i) m |= uint64_t(l[i] >> (sizeof(T) * 8 - 1) & 1) << i;
  if (in.op[0].kind != OpKind::Reg || in.op[0].rclass != RegClass::Gpr) x.raise_ud();
  x.set_gpr(in.op[0].reg, in.op[0].size < 4 ? 4 : in.op[0].size, m);
}

// maskmovdqu: stores the bytes of the first operand whose mask byte (second operand) has its
// top bit set, to DS:RDI. The destination is checked before any byte is written, so a fault
// leaves memory as it was.
void maskmovdqu(Exec& x, const Insn& in) {
  const Xmm& v = xreg(x, in.op[0]);
  const Xmm& m = xreg(x, in.op[1]);
  uint64_t a = x.gpr(RDI);
  if (in.addrsize == 4) a = uint32_t(a);
  // The hosts check all 16 bytes for writing, whatever the mask (even an all-zero mask
  // faults); the manual leaves masked-off bytes' faults to the implementation. A fault names
  // the first byte that cannot be written, of all 16 or, where the host checks the high half
  // first (cpu/host_quirks.h), of the high 8 bytes and then of the low 8
  // (tests/exactness error_codes maskmovdqu_*).
  const uint64_t mask = in.addrsize == 4 ? 0xFFFFFFFF : ~uint64_t(0);
  auto check = [&](uint64_t at, unsigned len) {
    x.probe_write(at);
    if ((at & 4095) > 4096 - len) x.probe_write(((at | 4095) + 1) & mask);
  };
  if (host_maskmovdqu_checks_high_half_first()) {
    check((a + 8) & mask, 8);
    check(a, 8);
  } else {
    check(a, 16);
  }
  for (int i = 0; i < 16; ++i)
    if (m.u8[i] & 0x80) x.store<uint8_t>(a + i, v.u8[i]);
}

void ldmxcsr(Exec& x, const Insn& in) {
  uint32_t v = x.load<uint32_t>(x.linear(in, in.op[0]));
  if (v & ~kMxcsrValid) x.raise_gp(0);  // reserved bits (SDM Vol. 2, LDMXCSR)
  x.cpu->mxcsr = v;
}
void stmxcsr(Exec& x, const Insn& in) {
  x.store<uint32_t>(x.linear(in, in.op[0]), x.cpu->mxcsr);
}

// SSE3 duplicating moves.
void movddup(Exec& x, const Insn& in) {
  Xmm s = read_src(x, in, in.op[1]);  // m64 or xmm
  Xmm r;
  r.u64[0] = r.u64[1] = s.u64[0];
  xreg(x, in.op[0]) = r;
}
template <int Odd>
void movsdup(Exec& x, const Insn& in) {  // movsldup (Odd=0) / movshdup (Odd=1)
  Xmm s = read_src(x, in, in.op[1]);
  Xmm r;
  r.u32[0] = r.u32[1] = s.u32[0 + Odd];
  r.u32[2] = r.u32[3] = s.u32[2 + Odd];
  xreg(x, in.op[0]) = r;
}

}  // namespace

// MOVSD xmm, xmm/m64 and MOVSD m64, xmm (forwarded by the string family, which owns the
// mnemonic).
void sse_movsd(Exec& x, const Insn& in) { mov_scalar<8>(x, in); }

void register_sse_move(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_MOVD] = &movd_movq;
  t[ZYDIS_MNEMONIC_MOVQ] = &movd_movq;
  for (auto m : {ZYDIS_MNEMONIC_MOVAPS, ZYDIS_MNEMONIC_MOVAPD, ZYDIS_MNEMONIC_MOVDQA})
    t[m] = &mov128<Align::Required>;
  for (auto m : {ZYDIS_MNEMONIC_MOVUPS, ZYDIS_MNEMONIC_MOVUPD, ZYDIS_MNEMONIC_MOVDQU,
                 ZYDIS_MNEMONIC_LDDQU})
    t[m] = &mov128<Align::None>;
  for (auto m : {ZYDIS_MNEMONIC_MOVNTPS, ZYDIS_MNEMONIC_MOVNTPD, ZYDIS_MNEMONIC_MOVNTDQ})
    t[m] = &movnt128;
  t[ZYDIS_MNEMONIC_MOVNTI] = &movnti;
  t[ZYDIS_MNEMONIC_MOVNTDQA] = &movntdqa;
  t[ZYDIS_MNEMONIC_MOVSS] = &mov_scalar<4>;
  // MOVSD belongs to the string family, which forwards here (sse_dispatch_shared.h); until it
  // does, take the entry only if nobody has registered it.
  if (t[ZYDIS_MNEMONIC_MOVSD] == t[ZYDIS_MNEMONIC_INVALID]) t[ZYDIS_MNEMONIC_MOVSD] = &sse_movsd;
  t[ZYDIS_MNEMONIC_MOVLPS] = &mov_half<0>;
  t[ZYDIS_MNEMONIC_MOVLPD] = &mov_half<0>;
  t[ZYDIS_MNEMONIC_MOVHPS] = &mov_half<1>;
  t[ZYDIS_MNEMONIC_MOVHPD] = &mov_half<1>;
  t[ZYDIS_MNEMONIC_MOVHLPS] = &movhlps;
  t[ZYDIS_MNEMONIC_MOVLHPS] = &movlhps;
  t[ZYDIS_MNEMONIC_MOVMSKPS] = &movmsk<uint32_t>;
  t[ZYDIS_MNEMONIC_MOVMSKPD] = &movmsk<uint64_t>;
  t[ZYDIS_MNEMONIC_PMOVMSKB] = &movmsk<uint8_t>;
  t[ZYDIS_MNEMONIC_MASKMOVDQU] = &maskmovdqu;
  t[ZYDIS_MNEMONIC_LDMXCSR] = &ldmxcsr;
  t[ZYDIS_MNEMONIC_STMXCSR] = &stmxcsr;
  t[ZYDIS_MNEMONIC_MOVDDUP] = &movddup;
  t[ZYDIS_MNEMONIC_MOVSLDUP] = &movsdup<0>;
  t[ZYDIS_MNEMONIC_MOVSHDUP] = &movsdup<1>;
}

}  // namespace vireo
