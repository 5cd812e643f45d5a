// Shifts and rotates: shl/sal, shr, sar, rol, ror, rcl, rcr, shld, shrd.
//
// Rules shared by the family (SDM Vol. 2, SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR, SHLD, SHRD):
//  * the count is masked to 5 bits (6 with a 64-bit operand);
//  * a masked count of 0 leaves every flag unchanged, but the destination is still written
//    (so a 32-bit register destination has its upper half cleared, as the host does);
//  * OF is defined only for a count of 1; for larger counts it is the count-1 formula
//    applied to the last one-bit step (AMD EPYC) or to the first, i.e. to the original
//    operand (Intel); AF is undefined: set (AMD) or cleared (Intel) by every shift with a
//    non-zero count (shl/shr/sar/shld/shrd);
//  * rotates change only CF and OF; rcl/rcr whose count is a multiple of 9 or 17 (8/16-bit)
//    keep CF and the value, and OF too (Intel) or set it from them (AMD); rol/ror by an
//    immediate above 1 keep OF on Intel's parts when the destination is a register (by CL, or
//    in memory, they follow the first-step rule).
// Which rule: host_flag_rules() (cpu/host_quirks.h), the host's own instructions run once.
// (docs/difftest.md, "Undefined flags"; the jit runs the host instruction.)
//
// Zydis keeps the count operand explicit only for the imm8 forms; the "1" (D0/D1) and "CL"
// (D2/D3, 0F A5, 0F AD) counts are implicit, so the count source is chosen by opcode.
#include <Zydis/Mnemonic.h>

#include "cpu/flags.h"
#include "cpu/host_quirks.h"
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
  const HostFlagRules& host = host_flag_rules();
  const uint64_t af = host.shift_sets_af ? flag::AF : 0;
  by_size(d.size, [&]<class T>() {
    constexpr unsigned W = sizeof(T) * 8;
    constexpr uint64_t msb = flags::sign_bit<T>();
    T a = T(x.read(in, d));
    // The OF rule's one-bit step: the first (the original operand) or the last.
    const bool first_step = host.shift_of_from_first_step && count > 1;
    // rol/ror of a register by an immediate (C0/C1 ib) above 1: OF kept on some hosts (a
    // memory destination follows the CL forms' rule there).
    const bool imm_keeps_of = host.rotate_imm_keeps_of && count > 1 && d.kind == OpKind::Reg &&
                              (in.opcode == 0xC0 || in.opcode == 0xC1);
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
          f = flags::szp<T>(r) | (cf ? flag::CF : 0) | af;
          const bool of = first_step ? bool(a & msb) != bool(a & (msb >> 1)) : bool(r & msb) != cf;
          if (of) f |= flag::OF;
          mask = flag::ARITH;
          break;
        }
        case Sh::Shr: {
          r = count >= W ? T(0) : T(a >> count);
          bool cf = count > W ? false : ((a >> (count - 1)) & 1);
          f = flags::szp<T>(r) | (cf ? flag::CF : 0) | af;
          // OF = MSB of the operand of the first or last one-bit step.
          const T before_last = first_step ? a : count - 1 >= W ? T(0) : T(a >> (count - 1));
          if (before_last & msb) f |= flag::OF;
          mask = flag::ARITH;
          break;
        }
        case Sh::Sar: {
          int64_t s = Exec::sign_extend(a, sizeof(T));
          unsigned c = count >= W ? W - 1 : count;  // beyond the width: all sign bits
          r = T(s >> c);
          bool cf = count >= W ? s < 0 : ((s >> (count - 1)) & 1);
          f = flags::szp<T>(r) | (cf ? flag::CF : 0) | af;  // OF = 0
          mask = flag::ARITH;
          break;
        }
        case Sh::Rol: {
          unsigned c = count % W;
          r = c ? T((a << c) | (a >> (W - c))) : a;
          bool cf = r & 1;
          const bool of = first_step ? bool(a & msb) != bool(a & (msb >> 1)) : bool(r & msb) != cf;
          f = (cf ? flag::CF : 0) | (of ? flag::OF : 0);
          mask = imm_keeps_of ? flag::CF : flag::CF | flag::OF;
          break;
        }
        case Sh::Ror: {
          unsigned c = count % W;
          r = c ? T((a >> c) | (a << (W - c))) : a;
          bool hi = r & msb, hi2 = r & (msb >> 1);
          const bool of = first_step ? bool(a & 1) != bool(a & msb) : hi != hi2;
          f = (hi ? flag::CF : 0) | (of ? flag::OF : 0);
          mask = imm_keeps_of ? flag::CF : flag::CF | flag::OF;
          break;
        }
        case Sh::Rcl:
        case Sh::Rcr: {
          // Rotate through carry is a rotate of the W+1-bit value CF:dest, so 8/16-bit counts
          // are taken modulo 9/17 (SDM RCL/RCR "tempCOUNT").
          unsigned c = count % (W + 1);
          if (c == 0) {  // value and CF unchanged; OF kept or from them as for a rotate by W+1
            if (host.rotate_carry_wrap_keeps_of) break;
            bool of = op == Sh::Rcl ? (bool(a & msb) != cf_in) : (bool(a & msb) != bool(a & (msb >> 1)));
            f = of ? flag::OF : 0;
            mask = flag::OF;
            break;
          }
          unsigned __int128 v = ((unsigned __int128)cf_in << W) | a;  // W+1 bits
          unsigned __int128 all = ((unsigned __int128)1 << (W + 1)) - 1;
          if (op == Sh::Rcr) c = W + 1 - c;  // right by c == left by W+1-c
          v = ((v << c) | (v >> (W + 1 - c))) & all;
          r = T(v);
          bool cf = (v >> W) & 1;
          bool of = op == Sh::Rcl ? (bool(r & msb) != cf)
                                  : (bool(r & msb) != bool(r & (msb >> 1)));
          if (first_step)  // rcl by 1: bit W-2 into the sign; rcr by 1: CF into it
            of = op == Sh::Rcl ? bool(a & msb) != bool(a & (msb >> 1)) : bool(a & msb) != cf_in;
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

// dest shifted by count (0..31, masked) with bits coming in from src.
template <class T, bool left>
T double_shift(T a, T b, unsigned count) {
  constexpr unsigned W = sizeof(T) * 8;
  if (count == 0) return a;
  if constexpr (W == 16) {
    // Counts 17..31 are undefined for 16-bit operands; we shift the 48-bit pattern
    // dest:src:dest as Intel parts do. Only counts <= 16 are compared in tests.
    uint64_t pat = (uint64_t(a) << 32) | (uint64_t(b) << 16) | a;
    return left ? T(pat >> (32 - count)) : T(pat >> count);
  } else {
    return left ? T((a << count) | (b >> (W - count))) : T((a >> count) | (b << (W - count)));
  }
}

// shld/shrd on 16-bit operands run by the host; `fl` is RFLAGS in and out.
template <bool left>
uint16_t host_shift_double16(uint16_t a, uint16_t b, uint8_t count, uint64_t& fl) {
  if (left)
    asm("lea -128(%%rsp), %%rsp; push %[fl]; popfq; shldw %%cl, %[b], %[a]; pushfq; pop %[fl]; lea 128(%%rsp), %%rsp"
        : [a] "+r"(a), [fl] "+r"(fl) : [b] "r"(b), "c"(count) : "cc");
  else
    asm("lea -128(%%rsp), %%rsp; push %[fl]; popfq; shrdw %%cl, %[b], %[a]; pushfq; pop %[fl]; lea 128(%%rsp), %%rsp"
        : [a] "+r"(a), [fl] "+r"(fl) : [b] "r"(b), "c"(count) : "cc");
  return a;
}

// shld/shrd dest, src, count: dest shifted with bits coming in from src.
template <bool left>
void shift_double(Exec& x, const Insn& in) {
  const Operand& d = in.op[0];
  unsigned raw = (in.opcode == 0xA5 || in.opcode == 0xAD) ? unsigned(x.gpr(RCX) & 0xFF)
                                                          : unsigned(in.op[2].disp & 0xFF);
  unsigned count = raw & count_mask(d.size);
  by_size(d.size, [&]<class T>() {
    constexpr uint64_t msb = flags::sign_bit<T>();
    T a = T(x.read(in, d));
    T b = T(x.read(in, in.op[1]));
    T r = a;
    uint64_t f = 0, mask = 0;
    if (sizeof(T) == 2 && count >= 16) {
      // Counts above 16 leave result and flags undefined, and for 16 itself no simple rule
      // reproduces this host's OF: the host computes them. The jit runs the same host
      // instruction, so the engines agree.
      uint64_t fl = (x.cpu->rflags & flag::ARITH) | flag::FIXED1;  // (never the guest's TF/DF/AC)
      r = host_shift_double16<left>(uint16_t(a), uint16_t(b), uint8_t(count), fl);
      f = fl & flag::ARITH;
      mask = flag::ARITH;
    } else if (count != 0) {
      r = double_shift<T, left>(a, b, count);
      // CF: the last bit shifted out, i.e. the edge bit of the one-bit-shorter result.
      const T prev = double_shift<T, left>(a, b, count - 1);
      const bool cf = left ? bool(prev & msb) : bool(prev & 1);
      const HostFlagRules& host = host_flag_rules();
      f = flags::szp<T>(r) | (cf ? flag::CF : 0) | (host.shift_sets_af ? flag::AF : 0);
      // OF: a sign change in the first or the last one-bit step (defined for count 1).
      const T before = host.shift_of_from_first_step ? a : prev;
      const T after = host.shift_of_from_first_step ? double_shift<T, left>(a, b, 1) : r;
      if (bool(after & msb) != bool(before & msb)) f |= flag::OF;
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
