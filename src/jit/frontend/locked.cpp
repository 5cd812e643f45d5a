// Frontend, locked read-modify-writes (mirrors src/interp/locked.cpp): the common locked forms
// become the host's own locked instruction on the guest address (AtomicXadd, AtomicXchg,
// AtomicCmpXchg), so that they are atomic with respect to other guest threads at native cost:
// lock add/sub/inc/dec/xadd (an xadd of the operand, the result and flags computed from the
// old value), lock cmpxchg, and xchg with memory. The other locked forms (and, or, xor, bt*,
// neg, not, adc, sbb, cmpxchg8b/16b) are left to the interpreter's locked path.
#include "cpu/cpu_state.h"
#include "jit/frontend/translator.h"

namespace vireo::jit {

using ir::Arg;
using ir::Opcode;

namespace {

bool is_gpr(const Operand& o) {
  return o.kind == OpKind::Reg && (o.rclass == RegClass::Gpr || o.rclass == RegClass::GprHigh);
}

Value atomic(Translator& t, Opcode op, Value addr, Value v, unsigned size) {
  return t.ir.emit(op, {Arg::val(addr), Arg::val(v), Arg::imm(size)});
}

// lock add/sub/inc/dec m, x and lock xadd m, r: one host xadd of the addend.
bool add_like(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const unsigned size = d.size;
  Value addend, operand;  // what xadd adds; the instruction's own second operand
  Opcode flags_op;
  switch (in.mnemonic) {
    case ZYDIS_MNEMONIC_ADD: case ZYDIS_MNEMONIC_XADD:
      if (!Translator::is_integer_operand(in.op[1]) || (in.mnemonic == ZYDIS_MNEMONIC_XADD && !is_gpr(in.op[1])))
        return false;
      operand = addend = t.read(in.op[1], size);
      flags_op = Opcode::FlagsAdd;
      break;
    case ZYDIS_MNEMONIC_SUB:
      if (!Translator::is_integer_operand(in.op[1])) return false;
      operand = t.read(in.op[1], size);
      addend = t.ir.op(Opcode::Sub, t.constant(0), operand);
      flags_op = Opcode::FlagsSub;
      break;
    case ZYDIS_MNEMONIC_INC: addend = t.constant(1); flags_op = Opcode::FlagsInc; break;
    case ZYDIS_MNEMONIC_DEC: addend = t.constant(~uint64_t(0)); flags_op = Opcode::FlagsDec; break;
    default: return false;
  }
  Value addr = t.address(d);
  Value old = atomic(t, Opcode::AtomicXadd, addr, addend, size);
  if (in.mnemonic == ZYDIS_MNEMONIC_XADD) t.write(in.op[1], size, old);
  if (flags_op == Opcode::FlagsInc || flags_op == Opcode::FlagsDec) {
    t.ir.set_flags(flag::ARITH & ~flag::CF, t.ir.emit(flags_op, {Arg::val(old), Arg::imm(size)}));
  } else {
    t.ir.set_flags(flag::ARITH, t.ir.emit(flags_op, {Arg::val(old), Arg::val(operand), Arg::imm(size)}));
  }
  return true;
}

// xchg m, r (or r, m): the old memory value goes to the register. No flags.
bool xchg(Translator& t, const Insn& in) {
  const bool mem_first = in.op[0].kind == OpKind::Mem;
  const Operand& m = mem_first ? in.op[0] : in.op[1];
  const Operand& r = mem_first ? in.op[1] : in.op[0];
  if (!is_gpr(r)) return false;
  const unsigned size = m.size;
  Value old = atomic(t, Opcode::AtomicXchg, t.address(m), t.read(r, size), size);
  t.write(r, size, old);
  return true;
}

// lock cmpxchg m, r: flags as `cmp accumulator, old`; the accumulator gets the old value
// when they differ (when equal it already holds it).
bool cmpxchg(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  if (!is_gpr(in.op[1])) return false;
  const unsigned size = d.size;
  Operand acc_op{OpKind::Reg, uint8_t(size), RegClass::Gpr, RAX, kNoReg, kNoReg, kNoReg, 1, 0};
  Value addr = t.address(d);
  Value acc = t.read(acc_op, size);
  Value src = t.read(in.op[1], size);
  Value old = t.ir.emit(Opcode::AtomicCmpXchg, {Arg::val(addr), Arg::val(acc), Arg::val(src), Arg::imm(size)});
  Value f = t.ir.emit(Opcode::FlagsSub, {Arg::val(acc), Arg::val(old), Arg::imm(size)});
  t.write(acc_op, size, old);
  t.ir.set_flags(flag::ARITH, f);
  return true;
}

}  // namespace

bool translate_locked(Translator& t, const Insn& in) {
  const Operand* m = nullptr;
  for (unsigned i = 0; i < in.nops && i < 2; ++i)
    if (in.op[i].kind == OpKind::Mem) m = &in.op[i];
  if (!m || (m->size != 1 && m->size != 2 && m->size != 4 && m->size != 8)) return false;
  switch (in.mnemonic) {
    case ZYDIS_MNEMONIC_XCHG: return xchg(t, in);
    case ZYDIS_MNEMONIC_CMPXCHG: return in.op[0].kind == OpKind::Mem && cmpxchg(t, in);
    default: return in.op[0].kind == OpKind::Mem && add_like(t, in);
  }
}

}  // namespace vireo::jit
