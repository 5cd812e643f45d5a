// BMI2 (VEX-encoded, 32/64-bit operands): pdep, pext, bzhi, mulx, rorx, sarx, shlx, shrx.
//
// Only bzhi writes flags; the others leave RFLAGS untouched, which is what makes them useful
// to compilers (SDM Vol. 2, each instruction's "Flags Affected"). A 32-bit destination is
// zero-extended to 64 bits as usual (Exec::write).
#include <Zydis/Mnemonic.h>

#include <type_traits>

#include "cpu/flags.h"
#include "interp/dispatch.h"
#include "interp/exec.h"

namespace vireo {

namespace {

// pdep dest, src, mask: the low bits of src, in order, go to the set bits of mask.
template <class T>
T deposit(T src, T mask) {
  T r = 0;
  for (T m = mask; m; m &= T(m - 1), src >>= 1)
    if (src & 1) r |= T(m & T(0 - m));
  return r;
}

// pext dest, src, mask: the bits of src at the set bits of mask, packed from bit 0.
template <class T>
T extract(T src, T mask) {
  T r = 0;
  unsigned k = 0;
  for (T m = mask; m; m &= T(m - 1), ++k)
    if (src & m & T(0 - m)) r |= T(T(1) << k);
  return r;
}

template <bool dep>
void pdep_pext(Exec& x, const Insn& in) {
  by_size(in.op[0].size, [&]<class T>() {
    T src = T(x.read(in, in.op[1])), mask = T(x.read(in, in.op[2]));
    x.write(in, in.op[0], dep ? deposit<T>(src, mask) : extract<T>(src, mask));
  });
}

// bzhi dest, src, index: clears the bits of src from index[7:0] up. CF = (index > W-1);
// ZF and SF from the result; OF cleared; AF and PF undefined (kept).
void bzhi(Exec& x, const Insn& in) {
  by_size(in.op[0].size, [&]<class T>() {
    constexpr unsigned W = sizeof(T) * 8;
    T src = T(x.read(in, in.op[1]));
    unsigned n = unsigned(x.read(in, in.op[2]) & 0xFF);
    T r = n < W ? T(src & ((T(1) << n) - 1)) : src;
    x.write(in, in.op[0], r);
    uint64_t f = (r == 0 ? flag::ZF : 0) | ((uint64_t(r) & flags::sign_bit<T>()) ? flag::SF : 0) |
                 (n > W - 1 ? flag::CF : 0);
    flags::set_arith(*x.cpu, f, flag::CF | flag::ZF | flag::SF | flag::OF);
  });
}

// mulx hi, lo, src: rdx/edx * src unsigned; hi is ModRM.reg, lo is VEX.vvvv. When both name
// one register it receives the high half (the SDM writes lo first, then hi).
void mulx(Exec& x, const Insn& in) {
  if (in.op[0].size == 8) {
    unsigned __int128 p = (unsigned __int128)x.gpr(RDX) * x.read(in, in.op[2]);
    x.write(in, in.op[1], uint64_t(p));
    x.write(in, in.op[0], uint64_t(p >> 64));
  } else {
    uint64_t p = uint64_t(uint32_t(x.gpr(RDX))) * uint32_t(x.read(in, in.op[2]));
    x.write(in, in.op[1], uint32_t(p));
    x.write(in, in.op[0], p >> 32);
  }
}

// rorx dest, src, imm8: rotate right by imm8 modulo the width, flags untouched.
void rorx(Exec& x, const Insn& in) {
  by_size(in.op[0].size, [&]<class T>() {
    constexpr unsigned W = sizeof(T) * 8;
    T v = T(x.read(in, in.op[1]));
    unsigned n = unsigned(in.op[2].disp) & (W - 1);
    x.write(in, in.op[0], n ? T((v >> n) | (v << (W - n))) : v);
  });
}

enum class ShiftX { Sar, Shl, Shr };

// sarx/shlx/shrx dest, src, count: the count register is masked to the width (as the legacy
// shifts mask theirs), flags untouched.
template <ShiftX op>
void shiftx(Exec& x, const Insn& in) {
  by_size(in.op[0].size, [&]<class T>() {
    constexpr unsigned W = sizeof(T) * 8;
    using S = std::make_signed_t<T>;
    T v = T(x.read(in, in.op[1]));
    unsigned n = unsigned(x.read(in, in.op[2]) & (W - 1));
    T r = op == ShiftX::Sar ? T(S(v) >> n) : op == ShiftX::Shl ? T(v << n) : T(v >> n);
    x.write(in, in.op[0], r);
  });
}

}  // namespace

void register_bmi2(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_PDEP] = pdep_pext<true>;
  t[ZYDIS_MNEMONIC_PEXT] = pdep_pext<false>;
  t[ZYDIS_MNEMONIC_BZHI] = bzhi;
  t[ZYDIS_MNEMONIC_MULX] = mulx;
  t[ZYDIS_MNEMONIC_RORX] = rorx;
  t[ZYDIS_MNEMONIC_SARX] = shiftx<ShiftX::Sar>;
  t[ZYDIS_MNEMONIC_SHLX] = shiftx<ShiftX::Shl>;
  t[ZYDIS_MNEMONIC_SHRX] = shiftx<ShiftX::Shr>;
}

}  // namespace vireo
