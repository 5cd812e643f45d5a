// Frontend, locked read-modify-writes (mirrors src/interp/locked.cpp): the common locked forms
// become the host's own locked instruction on the guest address (AtomicXadd, AtomicXchg,
// AtomicCmpXchg), so that they are atomic with respect to other guest threads at native cost:
// lock add/sub/inc/dec/xadd (an xadd of the operand, the result and flags computed from the
// old value), lock cmpxchg, xchg with memory, and lock and/or/xor (a compare-and-swap of the
// result; the identities `lock or m, 0`, `lock xor m, 0` and `lock and m, -1`, the full-fence
// idiom of sqlite and compilers' seq_cst fences, a locked write of the unchanged value, i.e.
// `lock xadd m, 0`). The other locked forms (bt*, neg, not, adc, sbb, cmpxchg8b/16b) are left
// to the interpreter's locked path.
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

// lock or/xor m, 0 and lock and m, -1: memory keeps its value, flags are those of the old
// value as a logic result (CF = OF = 0, AF = 0 as FlagsLogic has it, as the interpreter's).
// A locked add of 0 is the same locked access (a write, a full fence) with the old value.
bool logic_identity(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (s.kind != OpKind::Imm) return false;
  const unsigned size = d.size;
  const uint64_t mask = size == 8 ? ~uint64_t(0) : (uint64_t(1) << (8 * size)) - 1;
  const uint64_t v = uint64_t(s.disp) & mask;  // (immediates arrive sign-extended)
  if (in.mnemonic == ZYDIS_MNEMONIC_AND ? v != mask : v != 0) return false;
  Value old = atomic(t, Opcode::AtomicXadd, t.address(d), t.constant(0), size);
  t.ir.set_flags(flag::ARITH, t.ir.emit(Opcode::FlagsLogic, {Arg::val(old), Arg::imm(size)}));
  return true;
}

// lock and/or/xor m, x (not an identity: Go's atomic.Or8/And8, C's atomic_fetch_or whose
// result is unused): the result of the value a locked access read, swapped in by a locked
// cmpxchg. The read is a `lock xadd m, 0`, a write access as the instruction's own is (a
// fault's error code says write, as the interpreter's). When another thread wrote the word
// in between, the swap fails and the block leaves by a side exit to this instruction before
// any of its effects, which runs it again. Not in a loop's tail (no count of instructions for
// its side exits here): the interpreter's locked path there.
bool logic(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (t.insns_before < 0 || !Translator::is_integer_operand(s)) return false;
  const unsigned size = d.size;
  const Opcode op = in.mnemonic == ZYDIS_MNEMONIC_AND ? Opcode::And
                    : in.mnemonic == ZYDIS_MNEMONIC_OR ? Opcode::Or : Opcode::Xor;
  Value src = t.read(s, size);
  Value addr = t.address(d);
  Value old = atomic(t, Opcode::AtomicXadd, addr, t.constant(0), size);
  Value result = t.ir.op(op, old, src);  // (both zero-extended from `size`: so is the result)
  Value seen = t.ir.emit(Opcode::AtomicCmpXchg, {Arg::val(addr), Arg::val(old), Arg::val(result), Arg::imm(size)});
  Value diff = t.ir.emit(Opcode::FlagsSub, {Arg::val(seen), Arg::val(old), Arg::imm(size)});
  Value lost = t.ir.emit(Opcode::TestCond, {Arg::val(diff), Arg::imm(5)});  // NE
  t.ir.emit(Opcode::ExitIf, {Arg::val(lost), Arg::imm(t.pc), Arg::imm(uint64_t(t.insns_before))});
  t.ir.set_flags(flag::ARITH, t.ir.emit(Opcode::FlagsLogic, {Arg::val(result), Arg::imm(size)}));
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
// only when they differ (a 32-bit cmpxchg that succeeds leaves rax's upper half alone).
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
  Value equal = t.ir.emit(Opcode::TestCond, {Arg::val(f), Arg::imm(4)});  // ZF (E)
  Value rax = t.ir.get_gpr(RAX);
  t.ir.set_gpr(RAX, t.ir.emit(Opcode::Select, {Arg::val(equal), Arg::val(rax), Arg::val(t.register_after_write(acc_op, old))}));
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
    case ZYDIS_MNEMONIC_OR: case ZYDIS_MNEMONIC_XOR: case ZYDIS_MNEMONIC_AND:
      return in.op[0].kind == OpKind::Mem && (logic_identity(t, in) || logic(t, in));
    default: return in.op[0].kind == OpKind::Mem && add_like(t, in);
  }
}

}  // namespace vireo::jit
