// Frontend, atomic read-modify-write instructions (mirrors src/interp/atomic.cpp): cmpxchg
// and xadd without LOCK. Their locked forms are atomic with respect to other guest threads
// only through the interpreter's locked path (interp/locked.cpp), which the translator
// leaves them to; LOCK on a register destination is #UD, also left to the interpreter.
#include "cpu/cpu_state.h"
#include "jit/frontend/translator.h"

namespace vireo::jit {

using ir::Arg;
using ir::Opcode;

namespace {

bool is_gpr_or_mem(const Operand& o) {
  return o.kind == OpKind::Mem || (o.kind == OpKind::Reg && (o.rclass == RegClass::Gpr || o.rclass == RegClass::GprHigh));
}
bool lock_on_register(const Insn& in) { return (in.prefixes & pfx::LOCK) && in.op[0].kind != OpKind::Mem; }

Value select(Translator& t, Value c, Value a, Value b) {
  return t.ir.emit(Opcode::Select, {Arg::val(c), Arg::val(a), Arg::val(b)});
}

// cmpxchg r/m, r: flags as `cmp accumulator, dest`. Equal: dest = src. Not equal: the
// accumulator = dest, and a memory destination is written back with its own value (so a
// read-only one faults); a register destination is left alone.
bool cmpxchg(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (!is_gpr_or_mem(d) || s.kind != OpKind::Reg || lock_on_register(in)) return false;
  unsigned size = d.size;
  Operand acc_op{OpKind::Reg, uint8_t(size), RegClass::Gpr, RAX, kNoReg, kNoReg, kNoReg, 1, 0};
  RmwDestination dest(t, d, size);
  Value old = dest.read(t);
  Value src = t.read(s, size);
  Value acc = t.read(acc_op, size);
  Value f = t.ir.emit(Opcode::FlagsSub, {Arg::val(acc), Arg::val(old), Arg::imm(size)});
  Value equal = t.ir.emit(Opcode::TestCond, {Arg::val(f), Arg::imm(4)});  // ZF (E)
  if (dest.in_memory()) {
    dest.write(t, select(t, equal, src, old));
  }
  // The accumulator first: when the destination is the accumulator itself, the register
  // value below then starts from it.
  Value rax = t.ir.get_gpr(RAX);
  t.ir.set_gpr(RAX, select(t, equal, rax, t.register_after_write(acc_op, old)));
  if (!dest.in_memory()) {
    Value cur = t.ir.get_gpr(d.reg);
    t.ir.set_gpr(d.reg, select(t, equal, t.register_after_write(d, src), cur));
  }
  t.ir.set_flags(flag::ARITH, f);
  return true;
}

// xadd r/m, r: dest = dest + src, src = old dest; flags as add. A memory destination is
// written first (it may fault); with registers the source is written first, so that
// `xadd rax, rax` ends with the sum.
bool xadd(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (!is_gpr_or_mem(d) || s.kind != OpKind::Reg || lock_on_register(in)) return false;
  unsigned size = d.size;
  RmwDestination dest(t, d, size);
  Value a = dest.read(t);
  Value b = t.read(s, size);
  Value r = t.ir.op(Opcode::Add, a, b);
  Value f = t.ir.emit(Opcode::FlagsAdd, {Arg::val(a), Arg::val(b), Arg::imm(size)});
  if (dest.in_memory()) dest.write(t, r);
  t.write(s, size, a);
  if (!dest.in_memory()) dest.write(t, r);
  t.ir.set_flags(flag::ARITH, f);
  return true;
}

}  // namespace

void register_frontend_atomic(FrontendTable& t) {
  t[ZYDIS_MNEMONIC_CMPXCHG] = cmpxchg;
  t[ZYDIS_MNEMONIC_XADD] = xadd;
}

}  // namespace vireo::jit
