// Bit instructions: bt/bts/btr/btc, bsf/bsr, popcnt, lzcnt, tzcnt, and the BMI1 group
// (andn, bextr, blsi, blsmsk, blsr; tzcnt is BMI1 too).
//
// Undefined flags (SDM Vol. 2, each instruction's "Flags Affected") are left unchanged here,
// except where the SDM pins them (popcnt/BMI1 clear OF and CF as stated).
#include <Zydis/Mnemonic.h>

#include "cpu/flags.h"
#include "cpu/host_quirks.h"
#include "interp/dispatch.h"
#include "interp/exec.h"

namespace vireo {

namespace {

enum class Bt { Test, Set, Reset, Complement };

// bt r/m, r|imm8 and its modifying forms. CF = the selected bit; ZF unaffected; OF/SF/AF/PF
// undefined (kept).
template <Bt op>
void bt(Exec& x, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  by_size(d.size, [&]<class T>() {
    constexpr unsigned W = sizeof(T) * 8;
    uint64_t bit;
    if (s.kind == OpKind::Imm) {
      bit = uint64_t(s.disp) & (W - 1);  // immediate: modulo the operand width, no address
    } else if (d.kind == OpKind::Mem) {
      // Register offset into a memory bit string: the offset is signed and may address any
      // operand-sized unit relative to the effective address (SDM Vol. 2, BT, "Bit(BitBase,
      // BitOffset)"): EA + (BitOffset DIV W) * W/8, bit BitOffset MOD W, with floor division.
      int64_t off = Exec::sign_extend(x.read(in, s), sizeof(T));
      int64_t unit = off >> __builtin_ctz(W);  // arithmetic shift = floor division
      bit = uint64_t(off) & (W - 1);
      uint64_t la = x.linear(in, d) + uint64_t(unit * int64_t(sizeof(T)));
      if (in.addrsize == 4) la = uint32_t(la);  // the effective address wraps at 32 bits
      T v = x.load<T>(la);
      bool cf = (v >> bit) & 1;
      T m = T(T(1) << bit);
      if constexpr (op == Bt::Set) x.store<T>(la, T(v | m));
      if constexpr (op == Bt::Reset) x.store<T>(la, T(v & ~m));
      if constexpr (op == Bt::Complement) x.store<T>(la, T(v ^ m));
      flags::set_arith(*x.cpu, cf ? flag::CF : 0, flag::CF);
      return;
    } else {
      bit = x.read(in, s) & (W - 1);
    }
    T v = T(x.read(in, d));
    bool cf = (v >> bit) & 1;
    T m = T(T(1) << bit);
    if constexpr (op == Bt::Set) x.write(in, d, T(v | m));
    if constexpr (op == Bt::Reset) x.write(in, d, T(v & ~m));
    if constexpr (op == Bt::Complement) x.write(in, d, T(v ^ m));
    flags::set_arith(*x.cpu, cf ? flag::CF : 0, flag::CF);
  });
}

// bsf/bsr: ZF = (source == 0); on a zero source the destination is left unchanged, as
// AMD documents and Intel hardware does (the SDM says "undefined"). CF/OF/SF/AF/PF are
// undefined and the vendors differ (cpu/host_quirks.h): AMD hardware keeps them; Intel
// hardware clears them except PF, the parity of the result's low byte (a zero source counts
// as result 0, whatever the destination keeps) (docs/difftest.md).
template <bool forward>
void bsf_bsr(Exec& x, const Insn& in) {
  const Operand& d = in.op[0];
  const uint64_t written = host_bit_scan_keeps_flags() ? flag::ZF : flag::ARITH;
  by_size(d.size, [&]<class T>() {
    T v = T(x.read(in, in.op[1]));
    if (v == 0) {
      flags::set_arith(*x.cpu, flag::ZF | flag::PF, written);
      return;
    }
    unsigned r = forward ? unsigned(__builtin_ctzll(v)) : unsigned(63 - __builtin_clzll(v));
    x.write(in, d, r);
    flags::set_arith(*x.cpu, flags::szp<uint8_t>(uint8_t(r)) & flag::PF, written);
  });
}

// popcnt: ZF = (source == 0); OF, SF, AF, CF, PF cleared (SDM Vol. 2, POPCNT).
void popcnt(Exec& x, const Insn& in) {
  uint64_t v = x.read(in, in.op[1]);
  x.write(in, in.op[0], uint64_t(__builtin_popcountll(v)));
  flags::set_arith(*x.cpu, v == 0 ? flag::ZF : 0);
}

// lzcnt/tzcnt: CF = (source == 0), ZF = (result == 0); OF/SF/AF/PF undefined: the host
// clears SF, AF and PF, and OF too on Intel's parts, not on AMD EPYC's (host_flag_rules();
// docs/difftest.md, "Undefined flags").
template <bool leading>
void lzcnt_tzcnt(Exec& x, const Insn& in) {
  const Operand& d = in.op[0];
  by_size(d.size, [&]<class T>() {
    constexpr unsigned W = sizeof(T) * 8;
    T v = T(x.read(in, in.op[1]));
    unsigned r;
    if (v == 0) r = W;
    else if (leading) r = unsigned(__builtin_clzll(v)) - (64 - W);
    else r = unsigned(__builtin_ctzll(v));
    x.write(in, d, r);
    uint64_t f = (v == 0 ? flag::CF : 0) | (r == 0 ? flag::ZF : 0);
    const uint64_t of = host_flag_rules().lzcnt_clears_of ? flag::OF : 0;
    flags::set_arith(*x.cpu, f, flag::CF | flag::ZF | flag::SF | flag::AF | flag::PF | of);
  });
}

// BMI1 (VEX-encoded, 32/64-bit). Flags per SDM Vol. 2 ANDN/BEXTR/BLSI/BLSMSK/BLSR: OF is
// cleared; AF and PF are undefined (kept).
constexpr uint64_t kBmiFlags = flag::CF | flag::ZF | flag::SF | flag::OF;

template <class T>
uint64_t zs(T r) {
  return (r == 0 ? flag::ZF : 0) | ((uint64_t(r) & flags::sign_bit<T>()) ? flag::SF : 0);
}

void andn(Exec& x, const Insn& in) {
  by_size(in.op[0].size, [&]<class T>() {
    T a = T(x.read(in, in.op[1])), b = T(x.read(in, in.op[2]));
    T r = T(~a & b);
    x.write(in, in.op[0], r);
    flags::set_arith(*x.cpu, zs<T>(r), kBmiFlags);  // CF = OF = 0
  });
}

// bextr dest, src, ctrl: ctrl[7:0] = start bit, ctrl[15:8] = length. ZF from the result,
// CF = OF = 0; SF undefined (kept).
void bextr(Exec& x, const Insn& in) {
  by_size(in.op[0].size, [&]<class T>() {
    constexpr unsigned W = sizeof(T) * 8;
    T src = T(x.read(in, in.op[1]));
    uint64_t ctrl = x.read(in, in.op[2]);
    unsigned start = ctrl & 0xFF, len = (ctrl >> 8) & 0xFF;
    T r = start >= W ? T(0) : T(src >> start);
    if (len < W) r = T(r & ((T(1) << len) - 1));
    x.write(in, in.op[0], r);
    flags::set_arith(*x.cpu, r == 0 ? flag::ZF : 0, flag::CF | flag::ZF | flag::OF);
  });
}

enum class Bls { Isolate, Mask, Reset };

// blsi: r = src & -src, CF = (src != 0). blsmsk: r = src ^ (src-1), CF = (src == 0), ZF = 0.
// blsr: r = src & (src-1), CF = (src == 0). SF from r; OF = 0.
template <Bls op>
void bls(Exec& x, const Insn& in) {
  by_size(in.op[0].size, [&]<class T>() {
    T s = T(x.read(in, in.op[1]));
    T r;
    uint64_t f;
    switch (op) {
      case Bls::Isolate: r = T(s & T(0 - s)); f = zs<T>(r) | (s != 0 ? flag::CF : 0); break;
      case Bls::Mask: r = T(s ^ T(s - 1)); f = (zs<T>(r) & flag::SF) | (s == 0 ? flag::CF : 0); break;
      case Bls::Reset: r = T(s & T(s - 1)); f = zs<T>(r) | (s == 0 ? flag::CF : 0); break;
    }
    x.write(in, in.op[0], r);
    flags::set_arith(*x.cpu, f, kBmiFlags);
  });
}

}  // namespace

void register_bit(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_BT] = bt<Bt::Test>;
  t[ZYDIS_MNEMONIC_BTS] = bt<Bt::Set>;
  t[ZYDIS_MNEMONIC_BTR] = bt<Bt::Reset>;
  t[ZYDIS_MNEMONIC_BTC] = bt<Bt::Complement>;
  t[ZYDIS_MNEMONIC_BSF] = bsf_bsr<true>;
  t[ZYDIS_MNEMONIC_BSR] = bsf_bsr<false>;
  t[ZYDIS_MNEMONIC_POPCNT] = popcnt;
  t[ZYDIS_MNEMONIC_LZCNT] = lzcnt_tzcnt<true>;
  t[ZYDIS_MNEMONIC_TZCNT] = lzcnt_tzcnt<false>;
  t[ZYDIS_MNEMONIC_ANDN] = andn;
  t[ZYDIS_MNEMONIC_BEXTR] = bextr;
  t[ZYDIS_MNEMONIC_BLSI] = bls<Bls::Isolate>;
  t[ZYDIS_MNEMONIC_BLSMSK] = bls<Bls::Mask>;
  t[ZYDIS_MNEMONIC_BLSR] = bls<Bls::Reset>;
}

}  // namespace vireo
