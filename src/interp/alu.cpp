// Integer ALU: add, adc, sub, sbb, and, or, xor, cmp, test, inc, dec, neg, not.
// Flags per SDM Vol. 2 instruction pages; AF after logic ops is undefined and cleared here
// as on real CPUs.
#include <Zydis/Mnemonic.h>

#include "cpu/flags.h"
#include "interp/dispatch.h"
#include "interp/exec.h"

namespace vireo {

namespace {

enum class Alu { Add, Adc, Sub, Sbb, And, Or, Xor, Cmp, Test };

template <Alu op>
void binary(Exec& x, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  unsigned size = d.size;
  by_size(size, [&]<class T>() {
    T a = x.read_t<T>(in, d);
    T b = x.read_as_t<T>(in, s);
    bool cf = x.cpu->rflags & flag::CF;
    T r;
    uint64_t f;
    switch (op) {
      case Alu::Add: r = T(a + b); f = flags::add<T>(a, b, r); break;
      case Alu::Adc: r = T(a + b + cf); f = flags::add<T>(a, b, r, cf); break;
      case Alu::Sub:
      case Alu::Cmp: r = T(a - b); f = flags::sub<T>(a, b, r); break;
      case Alu::Sbb: r = T(a - b - cf); f = flags::sub<T>(a, b, r, cf); break;
      case Alu::And:
      case Alu::Test: r = T(a & b); f = flags::logic<T>(r); break;
      case Alu::Or: r = T(a | b); f = flags::logic<T>(r); break;
      case Alu::Xor: r = T(a ^ b); f = flags::logic<T>(r); break;
    }
    if constexpr (op != Alu::Cmp && op != Alu::Test) x.write_t<T>(in, d, r);
    flags::set_arith(*x.cpu, f);
  });
}

// inc/dec leave CF unchanged (SDM Vol. 2, INC/DEC).
template <bool inc>
void incdec(Exec& x, const Insn& in) {
  const Operand& d = in.op[0];
  by_size(d.size, [&]<class T>() {
    T a = x.read_t<T>(in, d);
    T r = inc ? T(a + 1) : T(a - 1);
    uint64_t f = inc ? flags::add<T>(a, 1, r) : flags::sub<T>(a, 1, r);
    x.write_t<T>(in, d, r);
    flags::set_arith(*x.cpu, f, flag::ARITH & ~flag::CF);
  });
}

void neg(Exec& x, const Insn& in) {
  const Operand& d = in.op[0];
  by_size(d.size, [&]<class T>() {
    T a = x.read_t<T>(in, d);
    T r = T(T(0) - a);
    x.write_t<T>(in, d, r);
    // NEG is 0 - a: CF = (a != 0).
    flags::set_arith(*x.cpu, flags::sub<T>(0, a, r));
  });
}

void not_(Exec& x, const Insn& in) {
  const Operand& d = in.op[0];
  x.write(in, d, ~x.read(in, d));  // no flags
}

}  // namespace

void register_alu(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_ADD] = binary<Alu::Add>;
  t[ZYDIS_MNEMONIC_ADC] = binary<Alu::Adc>;
  t[ZYDIS_MNEMONIC_SUB] = binary<Alu::Sub>;
  t[ZYDIS_MNEMONIC_SBB] = binary<Alu::Sbb>;
  t[ZYDIS_MNEMONIC_AND] = binary<Alu::And>;
  t[ZYDIS_MNEMONIC_OR] = binary<Alu::Or>;
  t[ZYDIS_MNEMONIC_XOR] = binary<Alu::Xor>;
  t[ZYDIS_MNEMONIC_CMP] = binary<Alu::Cmp>;
  t[ZYDIS_MNEMONIC_TEST] = binary<Alu::Test>;
  t[ZYDIS_MNEMONIC_INC] = incdec<true>;
  t[ZYDIS_MNEMONIC_DEC] = incdec<false>;
  t[ZYDIS_MNEMONIC_NEG] = neg;
  t[ZYDIS_MNEMONIC_NOT] = not_;
}

}  // namespace vireo
