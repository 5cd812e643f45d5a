// Frontend, stack (mirrors src/interp/stack.cpp): 64-bit push and pop of GPRs, memory and
// immediates; 16-bit forms go to the interpreter.
#include "cpu/cpu_state.h"
#include "jit/frontend/translator.h"

namespace vireo::jit {

using ir::Opcode;

namespace {

bool push(Translator& t, const Insn& in) {
  const Operand& s = in.op[0];
  if (in.opsize != 8 || !Translator::is_integer_operand(s)) return false;
  Value v = s.kind == OpKind::Imm ? t.constant(uint64_t(s.disp)) : t.read(s, 8);
  Value sp = t.ir.op(Opcode::Sub, t.ir.get_gpr(RSP), t.constant(8));
  t.store(sp, 8, v);
  t.ir.set_gpr(RSP, sp);
  return true;
}

bool pop(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  if (in.opsize != 8 || d.kind != OpKind::Reg || d.rclass != RegClass::Gpr) return false;
  Value sp = t.ir.get_gpr(RSP);
  Value v = t.load(sp, 8);
  t.ir.set_gpr(RSP, t.ir.op(Opcode::Add, sp, t.constant(8)));
  t.ir.set_gpr(d.reg, v);  // after rsp: `pop rsp` loads rsp from the old top
  return true;
}

bool leave(Translator& t, const Insn& in) {
  if (in.opsize == 2) return false;  // leavew pops BP only
  Value bp = t.ir.get_gpr(RBP);
  Value v = t.load(bp, 8);
  t.ir.set_gpr(RSP, t.ir.op(Opcode::Add, bp, t.constant(8)));
  t.ir.set_gpr(RBP, v);
  return true;
}

}  // namespace

void register_frontend_stack(FrontendTable& t) {
  t[ZYDIS_MNEMONIC_PUSH] = push;
  t[ZYDIS_MNEMONIC_POP] = pop;
  t[ZYDIS_MNEMONIC_LEAVE] = leave;
}

}  // namespace vireo::jit
