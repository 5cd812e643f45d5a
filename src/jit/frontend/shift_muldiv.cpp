// Frontend, shifts and multiplication (mirrors src/interp/shift.cpp and muldiv.cpp):
// shl/sal/shr/sar/rol/ror by an immediate, by 1 or by CL, and the 2- and 3-operand imul.
// rcl/rcr, shld/shrd, one-operand mul/imul and div go to the interpreter.
#include "cpu/cpu_state.h"
#include "jit/frontend/shift_kind.h"
#include "jit/frontend/translator.h"

namespace vireo::jit {

using ir::Arg;
using ir::Opcode;

namespace {

template <ShiftKind kind>
bool shift(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  if (!Translator::is_integer_operand(d) || d.kind == OpKind::Imm) return false;
  if (in.nops < 2) return false;
  unsigned size = d.size;
  bool rotate = kind == ShiftKind::Rol || kind == ShiftKind::Ror;
  if (in.op[1].kind == OpKind::Reg) {
    // Count in CL: known only at run time, so a zero count (flags unchanged) is left to the
    // host instruction itself.
    RmwDestination dest(t, d, size);
    Value a = dest.read(t);
    Value count = t.read(in.op[1], 1);
    Value old = t.ir.emit(Opcode::GetFlags, {});
    uint64_t desc = uint64_t(kind) | (size << 8);
    Value r = t.ir.emit(Opcode::ShiftCl, {Arg::imm(desc), Arg::val(a), Arg::val(count)});
    Value f = t.ir.emit(Opcode::FlagsShiftCl, {Arg::imm(desc), Arg::val(a), Arg::val(count), Arg::val(old)});
    dest.write(t, r);
    t.ir.set_flags(rotate ? (flag::CF | flag::OF) : flag::ARITH, f);
    return true;
  }
  if (in.op[1].kind != OpKind::Imm) return false;
  // The count is masked to 5 bits (6 for 64-bit operands) before anything else (SDM SAL/SHL).
  unsigned count = unsigned(in.op[1].disp) & (size == 8 ? 63 : 31);
  RmwDestination dest(t, d, size);
  Value a = dest.read(t);
  if (count == 0) {
    // No flags change, but a register destination is still written (a 32-bit one is
    // zero-extended), as the hardware does.
    if (!dest.in_memory()) dest.write(t, a);
    return true;
  }
  uint64_t desc = uint64_t(kind) | (size << 8) | (uint64_t(count) << 16);
  Value r = t.ir.emit(Opcode::Shift, {Arg::imm(desc), Arg::val(a)});
  Value f = t.ir.emit(Opcode::FlagsShift, {Arg::imm(desc), Arg::val(a)});
  dest.write(t, r);
  // Rotates write only CF and OF; shifts write all six (AF undefined: the host's value).
  t.ir.set_flags(rotate ? (flag::CF | flag::OF) : flag::ARITH, f);
  return true;
}

bool imul(Translator& t, const Insn& in) {
  if (in.nops < 2) return false;  // one-operand form writes rDX:rAX: interpreter
  const Operand& d = in.op[0];
  if (d.kind != OpKind::Reg || d.rclass != RegClass::Gpr || d.size == 1) return false;
  unsigned size = d.size;
  Value a, b;
  if (in.nops == 3) {
    a = t.read(in.op[1], size);
    b = t.read(in.op[2], size);
  } else {
    a = t.read(d, size);
    b = t.read(in.op[1], size);
  }
  Value r = t.ir.op(Opcode::Mul, a, b);
  Value f = t.ir.emit(Opcode::FlagsImul, {Arg::val(a), Arg::val(b), Arg::imm(size)});
  t.write(d, size, r);
  t.ir.set_flags(flag::ARITH, f);
  return true;
}

}  // namespace

void register_frontend_shift_muldiv(FrontendTable& t) {
  t[ZYDIS_MNEMONIC_SHL] = shift<ShiftKind::Shl>;
  t[ZYDIS_MNEMONIC_SHR] = shift<ShiftKind::Shr>;
  t[ZYDIS_MNEMONIC_SAR] = shift<ShiftKind::Sar>;
  t[ZYDIS_MNEMONIC_ROL] = shift<ShiftKind::Rol>;
  t[ZYDIS_MNEMONIC_ROR] = shift<ShiftKind::Ror>;
  t[ZYDIS_MNEMONIC_IMUL] = imul;
}

}  // namespace vireo::jit
