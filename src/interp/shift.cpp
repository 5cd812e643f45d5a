// Shifts and rotates: shl/sal, shr, sar, rol, ror, rcl, rcr, shld, shrd.
//
// Rules shared by the family (SDM Vol. 2, SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR, SHLD, SHRD):
//  * the count is masked to 5 bits (6 with a 64-bit operand);
//  * a masked count of 0 leaves every flag unchanged, but the destination is still written
//    (so a 32-bit register destination has its upper half cleared, as the host does);
//  * OF is defined only for a count of 1; for larger counts we use the count-1 formula, as
//    current hardware does for most forms; AF is undefined and left clear for shifts;
//  * rotates change only CF and OF.
//
// Zydis keeps the count operand explicit only for the imm8 forms; the "1" (D0/D1) and "CL"
// (D2/D3, 0F A5, 0F AD) counts are implicit, so the count source is chosen by opcode.
#include <Zydis/Mnemonic.h>

#include "cpu/flags.h"
#include "interp/dispatch.h"
#include "interp/exec.h"

namespace vireo {

namespace {

// The (unmasked) shift count of a one-operand-plus-count shift/rotate.
unsigned shift_count(Exec& x, const Insn& in) {
  switch (in.opcode) {
    case 0xD0:
    case 0xD1: return 1;
    case 0xD2:
    case 0xD3: return unsigned(x.gpr(RCX) & 0xFF);
    default: return unsigned(in.op[1].disp & 0xFF);  // C0/C1 ib
  }
}

unsigned count_mask(unsigned size) { return size == 8 ? 0x3F : 0x1F; }

enum class Sh { Shl, Shr, Sar, Rol, Ror, Rcl, Rcr };

template <Sh op>
void shift(Exec& x, const Insn& in) {
  const Operand& d = in.op[0];
  unsigned count = shift_count(x, in) & count_mask(d.size);
  by_size(d.size, [&]<class T>() {
    constexpr unsigned W = sizeof(T) * 8;
    constexpr uint64_t msb = flags::sign_bit<T>();
    T a = T(x.read(in, d));
    uint64_t fl = x.cpu->rflags;
    bool cf_in = fl & flag::CF;
    T r = a;
    uint64_t f = 0;         // new flag values
    uint64_t mask = 0;      // which flags they replace
    if (count != 0) {
      switch (op) {
        case Sh::Shl: {
          // Widen so counts up to 31 with an 8/16-bit operand shift everything out.
          unsigned __int128 wide = (unsigned __int128)a << count;
          r = T(wide);
          bool cf = (wide >> W) & 1;
          f = flags::szp<T>(r) | (cf ? flag::CF : 0);
          if (bool(r & msb) != cf) f |= flag::OF;
          mask = flag::ARITH;
          break;
        }
        case Sh::Shr: {
          r = count >= W ? T(0) : T(a >> count);
          bool cf = count > W ? false : ((a >> (count - 1)) & 1);
          f = flags::szp<T>(r) | (cf ? flag::CF : 0);
          if (a & msb) f |= flag::OF;  // OF = MSB of the original operand (count 1)
          mask = flag::ARITH;
          break;
        }
        case Sh::Sar: {
          int64_t s = Exec::sign_extend(a, sizeof(T));
          unsigned c = count >= W ? W - 1 : count;  // beyond the width: all sign bits
          r = T(s >> c);
          bool cf = count >= W ? s < 0 : ((s >> (count - 1)) & 1);
          f = flags::szp<T>(r) | (cf ? flag::CF : 0);  // OF = 0
          mask = flag::ARITH;
          break;
        }
        case Sh::Rol: {
          unsigned c = count % W;
          r = c ? T((a << c) | (a >> (W - c))) : a;
          bool cf = r & 1;
          f = (cf ? flag::CF : 0) | ((bool(r & msb) != cf) ? flag::OF : 0);
          mask = flag::CF | flag::OF;
          break;
        }
        case Sh::Ror: {
          unsigned c = count % W;
          r = c ? T((a >> c) | (a << (W - c))) : a;
          bool hi = r & msb, hi2 = r & (msb >> 1);
          f = (hi ? flag::CF : 0) | ((hi != hi2) ? flag::OF : 0);
          mask = flag::CF | flag::OF;
          break;
        }
        case Sh::Rcl:
        case Sh::Rcr: {
          // Rotate through carry is a rotate of the W+1-bit value CF:dest, so 8/16-bit counts
          // are taken modulo 9/17 (SDM RCL/RCR "tempCOUNT").
          unsigned c = count % (W + 1);
          if (c == 0) break;  // flags and value unchanged (OF undefined; we keep it)
          unsigned __int128 v = ((unsigned __int128)cf_in << W) | a;  // W+1 bits
          unsigned __int128 all = ((unsigned __int128)1 << (W + 1)) - 1;
          if (op == Sh::Rcr) c = W + 1 - c;  // right by c == left by W+1-c
          v = ((v << c) | (v >> (W + 1 - c))) & all;
          r = T(v);
          bool cf = (v >> W) & 1;
          bool of = op == Sh::Rcl ? (bool(r & msb) != cf)
                                  : (bool(r & msb) != bool(r & (msb >> 1)));
          f = (cf ? flag::CF : 0) | (of ? flag::OF : 0);
          mask = flag::CF | flag::OF;
          break;
        }
      }
    }
    x.write(in, d, r);
    flags::set_arith(*x.cpu, f, mask);
  });
}

// shld/shrd dest, src, count: dest shifted with bits coming in from src.
template <bool left>
void shift_double(Exec& x, const Insn& in) {
  const Operand& d = in.op[0];
  unsigned raw = (in.opcode == 0xA5 || in.opcode == 0xAD) ? unsigned(x.gpr(RCX) & 0xFF)
                                                          : unsigned(in.op[2].disp & 0xFF);
  unsigned count = raw & count_mask(d.size);
  by_size(d.size, [&]<class T>() {
    constexpr unsigned W = sizeof(T) * 8;
    constexpr uint64_t msb = flags::sign_bit<T>();
    T a = T(x.read(in, d));
    T b = T(x.read(in, in.op[1]));
    T r = a;
    uint64_t f = 0, mask = 0;
    if (count != 0) {
      bool cf;
      if constexpr (W == 16) {
        // Counts 17..31 are undefined for 16-bit operands; we shift the 48-bit pattern
        // dest:src:dest as Intel parts do. Only counts <= 16 are compared in tests.
        uint64_t pat = (uint64_t(a) << 32) | (uint64_t(b) << 16) | a;
        if (left) {
          r = T(pat >> (32 - count));
          cf = (pat >> (48 - count)) & 1;
        } else {
          r = T(pat >> count);
          cf = (pat >> (count - 1)) & 1;
        }
      } else {
        if (left) {
          r = T((a << count) | (b >> (W - count)));
          cf = (a >> (W - count)) & 1;
        } else {
          r = T((a >> count) | (b << (W - count)));
          cf = (a >> (count - 1)) & 1;
        }
      }
      f = flags::szp<T>(r) | (cf ? flag::CF : 0);
      if (bool(r & msb) != bool(a & msb)) f |= flag::OF;  // sign change (defined for count 1)
      mask = flag::ARITH;
    }
    x.write(in, d, r);
    flags::set_arith(*x.cpu, f, mask);
  });
}

}  // namespace

void register_shift(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_SHL] = shift<Sh::Shl>;
  t[ZYDIS_MNEMONIC_SHR] = shift<Sh::Shr>;
  t[ZYDIS_MNEMONIC_SAR] = shift<Sh::Sar>;
  t[ZYDIS_MNEMONIC_ROL] = shift<Sh::Rol>;
  t[ZYDIS_MNEMONIC_ROR] = shift<Sh::Ror>;
  t[ZYDIS_MNEMONIC_RCL] = shift<Sh::Rcl>;
  t[ZYDIS_MNEMONIC_RCR] = shift<Sh::Rcr>;
  t[ZYDIS_MNEMONIC_SHLD] = shift_double<true>;
  t[ZYDIS_MNEMONIC_SHRD] = shift_double<false>;
}

}  // namespace vireo
