// Frontend, integer ALU (mirrors src/interp/alu.cpp): add, sub, and, or, xor, cmp, test,
// inc, dec, neg, not, adc, sbb.
#include "cpu/cpu_state.h"
#include "jit/frontend/translator.h"

namespace vireo::jit {

using ir::Arg;
using ir::Opcode;

namespace {

template <Opcode op, Opcode flags_op, bool writes>
bool binary(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (!Translator::is_integer_operand(d) || !Translator::is_integer_operand(s)) return false;
  unsigned size = d.size;
  RmwDestination dest(t, d, size);
  // (`test eax, eax`, `xor eax, eax`: one read, none for xor)
  const bool same = s.kind == OpKind::Reg && d.kind == OpKind::Reg && s.reg == d.reg && s.rclass == d.rclass &&
                    s.size == d.size;
  Value a = same && op == Opcode::Xor ? Value{} : dest.read(t);
  Value b = same ? a : t.read(s, size);  // immediates arrive sign-extended, truncated to `size`
  // (cmp's difference is only its flags' business: not emitted for the passes to delete)
  if (!writes && flags_op != Opcode::FlagsLogic) {
    t.ir.set_flags(flag::ARITH, t.ir.emit(flags_op, {Arg::val(a), Arg::val(b), Arg::imm(size)}));
    return true;
  }
  // (x & x and x | x are x, x ^ x is 0: what fold_constants would make of them)
  Value r = same && (op == Opcode::And || op == Opcode::Or) ? a
            : same && op == Opcode::Xor                     ? t.constant(0)
                                                            : t.ir.op(op, a, b);
  Value f = flags_op == Opcode::FlagsLogic
                ? t.ir.emit(Opcode::FlagsLogic, {Arg::val(t.zero_extend(r, size)), Arg::imm(size)})
                : t.ir.emit(flags_op, {Arg::val(a), Arg::val(b), Arg::imm(size)});
  if (writes) dest.write(t, r);
  t.ir.set_flags(flag::ARITH, f);
  return true;
}

template <bool inc>
bool incdec(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  if (!Translator::is_integer_operand(d)) return false;
  unsigned size = d.size;
  RmwDestination dest(t, d, size);
  Value a = dest.read(t);
  Value r = t.ir.op(inc ? Opcode::Add : Opcode::Sub, a, t.constant(1));
  Value f = t.ir.emit(inc ? Opcode::FlagsInc : Opcode::FlagsDec, {Arg::val(a), Arg::imm(size)});
  dest.write(t, r);
  t.ir.set_flags(flag::ARITH & ~flag::CF, f);  // inc/dec leave CF alone
  return true;
}

bool neg(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  if (!Translator::is_integer_operand(d)) return false;
  unsigned size = d.size;
  RmwDestination dest(t, d, size);
  Value a = dest.read(t);
  Value zero = t.constant(0);
  Value r = t.ir.op(Opcode::Sub, zero, a);
  Value f = t.ir.emit(Opcode::FlagsSub, {Arg::val(zero), Arg::val(a), Arg::imm(size)});
  dest.write(t, r);
  t.ir.set_flags(flag::ARITH, f);
  return true;
}

// adc/sbb: the carry comes from the current flags (the last flag producer's value when it set
// CF in this block: the builder's cache, or the state-forwarding pass).
template <bool add>
bool with_carry(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (!Translator::is_integer_operand(d) || !Translator::is_integer_operand(s)) return false;
  unsigned size = d.size;
  RmwDestination dest(t, d, size);
  // sbb r, r is 0 - CF whatever r holds, and adc/sbb x, 0 is x + CF / x - CF, flags included:
  // with a carry-in of 0 or 1 (bit 4 and the sign bit clear) the carry or borrow out, the
  // overflow and the adjust bit are the plain add's or sub's with CF as the operand. So they
  // are an Add/Sub and recomputable flags (a recipe) instead of a host adc/sbb whose flags are
  // captured with pushfq (python's dispatch: neg cx; sbb sil, sil; or sil, [rsp+0xb0]).
  const bool same = !add && s.kind == OpKind::Reg && d.kind == OpKind::Reg && s.reg == d.reg &&
                    s.rclass == d.rclass && s.size == d.size;
  if (same || (s.kind == OpKind::Imm && s.disp == 0)) {
    Value cf = t.ir.op(Opcode::BoolToU64, t.ir.emit(Opcode::TestCond, {Arg::val(t.ir.flags_for(flag::CF)), Arg::imm(2)}));  // B
    Value a = same ? t.constant(0) : dest.read(t);
    Value r = t.ir.op(add ? Opcode::Add : Opcode::Sub, a, cf);
    Value f = t.ir.emit(add ? Opcode::FlagsAdd : Opcode::FlagsSub, {Arg::val(a), Arg::val(cf), Arg::imm(size)});
    dest.write(t, r);
    t.ir.set_flags(flag::ARITH, f);
    return true;
  }
  Value a = dest.read(t);
  Value b = t.read(s, size);
  Value fl = t.ir.flags_for(flag::CF);
  Value r = t.ir.emit(add ? Opcode::Adc : Opcode::Sbb, {Arg::val(a), Arg::val(b), Arg::val(fl), Arg::imm(size)});
  Value f = t.ir.emit(add ? Opcode::FlagsAdc : Opcode::FlagsSbb,
                      {Arg::val(a), Arg::val(b), Arg::val(fl), Arg::imm(size)});
  dest.write(t, r);
  t.ir.set_flags(flag::ARITH, f);
  return true;
}

bool not_(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  if (!Translator::is_integer_operand(d)) return false;
  RmwDestination dest(t, d, d.size);
  dest.write(t, t.ir.op(Opcode::Not, dest.read(t)));
  return true;
}

}  // namespace

void register_frontend_alu(FrontendTable& t) {
  t[ZYDIS_MNEMONIC_ADD] = binary<Opcode::Add, Opcode::FlagsAdd, true>;
  t[ZYDIS_MNEMONIC_SUB] = binary<Opcode::Sub, Opcode::FlagsSub, true>;
  t[ZYDIS_MNEMONIC_CMP] = binary<Opcode::Sub, Opcode::FlagsSub, false>;
  t[ZYDIS_MNEMONIC_AND] = binary<Opcode::And, Opcode::FlagsLogic, true>;
  t[ZYDIS_MNEMONIC_OR] = binary<Opcode::Or, Opcode::FlagsLogic, true>;
  t[ZYDIS_MNEMONIC_XOR] = binary<Opcode::Xor, Opcode::FlagsLogic, true>;
  t[ZYDIS_MNEMONIC_TEST] = binary<Opcode::And, Opcode::FlagsLogic, false>;
  t[ZYDIS_MNEMONIC_INC] = incdec<true>;
  t[ZYDIS_MNEMONIC_DEC] = incdec<false>;
  t[ZYDIS_MNEMONIC_NEG] = neg;
  t[ZYDIS_MNEMONIC_NOT] = not_;
  t[ZYDIS_MNEMONIC_ADC] = with_carry<true>;
  t[ZYDIS_MNEMONIC_SBB] = with_carry<false>;
}

}  // namespace vireo::jit
