// Multiply and divide: mul, imul (one-, two- and three-operand forms), div, idiv.
//
// Flags (SDM Vol. 2, MUL/IMUL/DIV/IDIV): after mul/imul only CF and OF are defined (set when
// the product does not fit the destination); SF/ZF/AF/PF are undefined: kept unchanged, as
// AMD EPYC hosts do for every form, or SF and PF from the low half and ZF and AF cleared, as
// Intel's do (host_flag_rules()). div/idiv leave all flags undefined; AMD EPYC hosts
// keep CF and OF, clear SF, ZF and PF and set AF, whatever the operands, Intel's keep all six:
// so do we, by host_flag_rules() (cpu/host_quirks.h). (docs/difftest.md, "Undefined flags": the jit follows the same rules.) Division raises #DE on a zero divisor and on a quotient that does not
// fit (including INT_MIN / -1), before any register is written.
#include <Zydis/Mnemonic.h>

#include "cpu/flags.h"
#include "cpu/host_quirks.h"
#include "interp/dispatch.h"
#include "interp/exec.h"

namespace vireo {

namespace {

// The double-width accumulator pair: AH:AL (as AX), DX:AX, EDX:EAX, RDX:RAX.
template <class T>
unsigned __int128 read_acc_pair(Exec& x) {
  constexpr unsigned W = sizeof(T) * 8;
  if constexpr (W == 8) return uint16_t(x.gpr(RAX));
  return ((unsigned __int128)T(x.gpr(RDX)) << W) | T(x.gpr(RAX));
}

template <class T>
void write_acc_pair(Exec& x, T lo, T hi) {
  if constexpr (sizeof(T) == 1) {
    x.set_gpr(RAX, 2, uint64_t(lo) | (uint64_t(hi) << 8));
  } else {
    x.set_gpr(RAX, sizeof(T), lo);
    x.set_gpr(RDX, sizeof(T), hi);
  }
}

template <class T>
void set_mul_flags(Exec& x, T lo, bool overflow) {
  uint64_t f = overflow ? flag::CF | flag::OF : 0;
  uint64_t mask = flag::CF | flag::OF;
  if (host_flag_rules().mul_sets_sf_pf) {  // SF and PF of the low half, ZF and AF cleared
    f |= flags::szp<T>(T(lo)) & (flag::SF | flag::PF);
    mask = flag::ARITH;
  }
  flags::set_arith(*x.cpu, f, mask);
}

void mul(Exec& x, const Insn& in) {
  by_size(in.op[0].size, [&]<class T>() {
    constexpr unsigned W = sizeof(T) * 8;
    T b = T(x.read(in, in.op[0]));
    T a = T(x.gpr(RAX));
    unsigned __int128 p = (unsigned __int128)a * b;
    T lo = T(p), hi = T(p >> W);
    write_acc_pair<T>(x, lo, hi);
    set_mul_flags<T>(x, lo, hi != 0);
  });
}

// Signed product of two W-bit values, exact in 128 bits.
template <class T>
__int128 smul(T a, T b) {
  return (__int128)Exec::sign_extend(a, sizeof(T)) * Exec::sign_extend(b, sizeof(T));
}

void imul(Exec& x, const Insn& in) {
  if (in.nops == 1) {
    by_size(in.op[0].size, [&]<class T>() {
      constexpr unsigned W = sizeof(T) * 8;
      T b = T(x.read(in, in.op[0]));
      __int128 p = smul<T>(T(x.gpr(RAX)), b);
      T lo = T(p), hi = T((unsigned __int128)p >> W);
      write_acc_pair<T>(x, lo, hi);
      set_mul_flags<T>(x, lo, p != Exec::sign_extend(lo, sizeof(T)));
    });
    return;
  }
  // imul r, r/m  and  imul r, r/m, imm: the truncated product goes to the register.
  const Operand& d = in.op[0];
  by_size(d.size, [&]<class T>() {
    T a, b;
    if (in.nops == 2) {
      b = T(x.read(in, in.op[1]));
      a = T(x.read(in, d));
    } else {
      a = T(x.read(in, in.op[1]));
      b = T(x.read_as(in, in.op[2], sizeof(T)));
    }
    __int128 p = smul<T>(a, b);
    T lo = T(p);
    x.write(in, d, lo);
    set_mul_flags<T>(x, lo, p != Exec::sign_extend(lo, sizeof(T)));
  });
}

void set_div_flags(Exec& x) {
  if (host_flag_rules().div_keeps_flags) return;
  x.cpu->rflags = (x.cpu->rflags & ~(flag::SF | flag::ZF | flag::PF)) | flag::AF;
}

void div(Exec& x, const Insn& in) {
  by_size(in.op[0].size, [&]<class T>() {
    constexpr unsigned W = sizeof(T) * 8;
    T b = T(x.read(in, in.op[0]));
    if (b == 0) x.raise_de();
    unsigned __int128 n = read_acc_pair<T>(x);
    unsigned __int128 q = n / b;
    if (q >> W) x.raise_de();  // quotient too large for the destination
    write_acc_pair<T>(x, T(q), T(n % b));
  });
  set_div_flags(x);
}

void idiv(Exec& x, const Insn& in) {
  by_size(in.op[0].size, [&]<class T>() {
    constexpr unsigned W = sizeof(T) * 8;
    int64_t b = Exec::sign_extend(T(x.read(in, in.op[0])), sizeof(T));
    if (b == 0) x.raise_de();
    // Sign-extend the 2W-bit dividend into __int128.
    unsigned __int128 raw = read_acc_pair<T>(x);
    __int128 n;
    if constexpr (W == 64) {
      n = (__int128)raw;
    } else {
      unsigned shift = 128 - 2 * W;
      n = (__int128)(raw << shift) >> shift;
    }
    // The only 128-bit dividend whose quotient overflows __int128 itself is INT128_MIN / -1;
    // it overflows every destination, so test it before dividing.
    const __int128 min128 = (__int128)((unsigned __int128)1 << 127);
    if (n == min128 && b == -1) x.raise_de();
    __int128 q = n / b, r = n % b;  // C++ truncates toward zero, as IDIV does
    const __int128 lo = -((__int128)1 << (W - 1)), hi = ((__int128)1 << (W - 1)) - 1;
    if (q < lo || q > hi) x.raise_de();
    write_acc_pair<T>(x, T(q), T(r));
  });
  set_div_flags(x);
}

}  // namespace

void register_muldiv(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_MUL] = mul;
  t[ZYDIS_MNEMONIC_IMUL] = imul;
  t[ZYDIS_MNEMONIC_DIV] = div;
  t[ZYDIS_MNEMONIC_IDIV] = idiv;
}

}  // namespace vireo
