// Frontend, shifts and multiplication (mirrors src/interp/shift.cpp and muldiv.cpp):
// shl/sal/shr/sar/rol/ror/rcl/rcr by an immediate, by 1 or by CL, shld/shrd, imul (all
// forms), mul, div and idiv.
#include "cpu/cpu_state.h"
#include "cpu/host_quirks.h"
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
  // A rotate in memory by an immediate above 1 where the host's register form keeps OF
  // (host_flag_rules()): the memory form's OF follows the CL forms' rule, so it runs by CL.
  const bool imm_by_cl = rotate && in.op[1].kind == OpKind::Imm && d.kind == OpKind::Mem &&
                         (unsigned(in.op[1].disp) & (size == 8 ? 63 : 31)) > 1 &&
                         host_flag_rules().rotate_imm_keeps_of;
  if (in.op[1].kind == OpKind::Reg || imm_by_cl) {
    // Count in CL: known only at run time, so a zero count (flags unchanged) is left to the
    // host instruction itself.
    RmwDestination dest(t, d, size);
    Value a = dest.read(t);
    Value count = imm_by_cl ? t.constant(unsigned(in.op[1].disp) & (size == 8 ? 63 : 31)) : t.read(in.op[1], 1);
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
  // Rotates write only CF and OF; shifts write all six (AF undefined: the host's value). A
  // rotate by more than 1 keeps OF on some hosts (host_flag_rules()): the recipe's OF is then
  // whatever the host had, not the guest's, so only CF is taken.
  const bool keeps_of = rotate && count > 1 && host_flag_rules().rotate_imm_keeps_of;  // (a register)
  t.ir.set_flags(keeps_of ? flag::CF : rotate ? (flag::CF | flag::OF) : flag::ARITH, f);
  return true;
}

// shld/shrd r/m, r, imm8|CL: the host's own instruction. The count is masked to 5 bits (6 for
// 64-bit operands); a zero count changes no flags. CF, SF, ZF and PF are defined, OF for a
// count of 1, AF never (SDM Vol. 2, SHLD/SHRD): the host's, as native.
template <bool left>
bool shift_double(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  const Operand& c = in.op[2];
  if (in.nops < 3 || !(d.kind == OpKind::Mem || (d.kind == OpKind::Reg && d.rclass == RegClass::Gpr)) ||
      s.kind != OpKind::Reg || s.rclass != RegClass::Gpr)
    return false;
  unsigned size = d.size;
  uint64_t mask = size == 8 ? 63 : 31;
  uint64_t desc = uint64_t(left) | (size << 8);
  RmwDestination dest(t, d, size);
  Value a = dest.read(t);
  Value b = t.read(s, size);
  Value count, keep_flags;
  if (c.kind == OpKind::Imm) {
    uint64_t n = uint64_t(c.disp) & mask;
    if (n == 0) {  // no flags change; a register destination is still written
      if (!dest.in_memory()) dest.write(t, a);
      return true;
    }
    count = t.constant(n);
  } else {
    count = t.ir.op(Opcode::And, t.read(c, 1), t.constant(mask));
    // A zero count in CL keeps the flags.
    Value flags_of_count = t.ir.emit(Opcode::FlagsLogic, {Arg::val(count), Arg::imm(1)});
    keep_flags = t.ir.emit(Opcode::TestCond, {Arg::val(flags_of_count), Arg::imm(4)});  // E
  }
  Value r = t.ir.emit(Opcode::ShiftDouble, {Arg::imm(desc), Arg::val(a), Arg::val(b), Arg::val(count)});
  Value f = t.ir.emit(Opcode::FlagsShiftDouble, {Arg::imm(desc), Arg::val(a), Arg::val(b), Arg::val(count)});
  if (keep_flags.valid())
    f = t.ir.emit(Opcode::Select, {Arg::val(keep_flags), Arg::val(t.ir.emit(Opcode::GetFlags, {})), Arg::val(f)});
  dest.write(t, r);
  t.ir.set_flags(flag::ARITH, f);
  return true;
}

// rcl/rcr r/m, 1|imm8|CL: the host's own instruction, started from the guest's flags (CF is
// rotated in). The count is masked to 5 bits (6 for 64-bit operands); the host then takes it
// modulo 9 or 17 for bytes and words. Only CF and OF are written, OF defined for a count of 1
// (SDM Vol. 2, RCL/RCR/ROL/ROR); a zero count changes no flags.
template <bool left>
bool rotate_carry(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& c = in.op[1];
  if (in.nops < 2 || !Translator::is_integer_operand(d) || d.kind == OpKind::Imm) return false;
  unsigned size = d.size;
  uint64_t mask = size == 8 ? 63 : 31;
  uint64_t desc = uint64_t(left) | (size << 8);
  RmwDestination dest(t, d, size);
  Value a = dest.read(t);
  Value count, keep_flags;
  if (c.kind == OpKind::Imm) {
    uint64_t n = uint64_t(c.disp) & mask;
    if (n == 0) {  // no flags change; a register destination is still written
      if (!dest.in_memory()) dest.write(t, a);
      return true;
    }
    count = t.constant(n);
  } else if (c.kind == OpKind::Reg) {
    count = t.ir.op(Opcode::And, t.read(c, 1), t.constant(mask));
    Value flags_of_count = t.ir.emit(Opcode::FlagsLogic, {Arg::val(count), Arg::imm(1)});
    keep_flags = t.ir.emit(Opcode::TestCond, {Arg::val(flags_of_count), Arg::imm(4)});  // E
  } else {
    return false;
  }
  Value old = t.ir.emit(Opcode::GetFlags, {});
  Value r = t.ir.emit(Opcode::RotateCarry, {Arg::imm(desc), Arg::val(a), Arg::val(count), Arg::val(old)});
  Value f = t.ir.emit(Opcode::FlagsRotateCarry, {Arg::imm(desc), Arg::val(a), Arg::val(count), Arg::val(old)});
  if (keep_flags.valid()) f = t.ir.emit(Opcode::Select, {Arg::val(keep_flags), Arg::val(old), Arg::val(f)});
  dest.write(t, r);
  t.ir.set_flags(flag::CF | flag::OF, f);
  return true;
}

// One-operand mul/imul: rDX:rAX = rAX * r/m (AX = AL * r/m8). CF = OF = the high half is
// significant; SF/ZF/AF/PF undefined: kept, or the host's (host_flag_rules()), as the
// interpreter does (muldiv.cpp); the host's flags are captured whole.
template <bool is_signed>
bool mul_wide(Translator& t, const Insn& in) {
  const Operand& s = in.op[0];
  if (!Translator::is_integer_operand(s) || s.kind == OpKind::Imm) return false;
  unsigned size = s.size;
  Operand rax{OpKind::Reg, uint8_t(size), RegClass::Gpr, RAX, kNoReg, kNoReg, kNoReg, 1, 0};
  Operand rdx = rax;
  rdx.reg = RDX;
  Value b = t.read(s, size);
  Value a = t.read(rax, size);
  uint64_t desc = size | (uint64_t(is_signed) << 8);
  Value f = t.ir.emit(Opcode::FlagsMulWide, {Arg::imm(desc), Arg::val(a), Arg::val(b)});
  if (size == 1) {
    // The 16-bit product of the extended bytes is exact: it goes to AX.
    Value x = is_signed ? t.sign_extend(a, 1) : a, y = is_signed ? t.sign_extend(b, 1) : b;
    rax.size = 2;
    t.write(rax, 2, t.ir.op(Opcode::Mul, x, y));
  } else {
    Value hi = t.ir.emit(Opcode::MulHigh, {Arg::imm(desc), Arg::val(a), Arg::val(b)});
    t.write(rax, size, t.ir.op(Opcode::Mul, a, b));
    t.write(rdx, size, hi);
  }
  t.ir.set_flags(host_flag_rules().mul_sets_sf_pf ? flag::ARITH : flag::CF | flag::OF, f);
  return true;
}

// div/idiv r/m: rAX = quotient and rDX = remainder of rDX:rAX / r/m (AL and AH of AX / r/m8).
// The flags are undefined: as the interpreter does, the host's rule (host_flag_rules()): all
// kept (Intel), or CF and OF kept, SF/ZF/PF cleared and AF set (AMD EPYC). The Div op divides on the
// host when that cannot fault, else runs the instruction in the interpreter (#DE).
template <bool is_signed>
bool divide(Translator& t, const Insn& in) {
  const Operand& s = in.op[0];
  if (!Translator::is_integer_operand(s) || s.kind == OpKind::Imm) return false;
  unsigned size = s.size;
  Value divisor = t.read(s, size);
  Value rax = t.ir.get_gpr(RAX);
  Value low = t.zero_extend(rax, size);
  Value high = size == 1 ? t.ir.op(Opcode::ZeroExt8, t.ir.op(Opcode::Shr, rax, t.constant(8)))
                         : t.zero_extend(t.ir.get_gpr(RDX), size);
  uint64_t desc = size | (uint64_t(is_signed) << 8) | (t.add_fallback() << 16);
  Value q = t.ir.emit(Opcode::Div, {Arg::imm(desc), Arg::val(high), Arg::val(low), Arg::val(divisor)});
  // dividend = q * divisor + r with r within the width, so r is the low bits of low - q * divisor.
  Value r = t.ir.op(Opcode::Sub, low, t.ir.op(Opcode::Mul, q, divisor));
  Operand acc{OpKind::Reg, uint8_t(size), RegClass::Gpr, RAX, kNoReg, kNoReg, kNoReg, 1, 0};
  Operand rest = acc;
  if (size == 1) rest.rclass = RegClass::GprHigh;  // AH
  else rest.reg = RDX;
  t.write(acc, size, q);
  t.write(rest, size, r);
  if (!host_flag_rules().div_keeps_flags)  // (else all six kept, as Intel's parts do)
    t.ir.set_flags(flag::SF | flag::ZF | flag::PF | flag::AF, t.constant(flag::AF));
  return true;
}

bool imul(Translator& t, const Insn& in) {
  if (in.nops < 2) return mul_wide<true>(t, in);
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
  t.write(d, size, r);
  if (host_flag_rules().mul_sets_sf_pf) {
    // SF/ZF/AF/PF written too, from the low half: as the one-operand imul's, whose CF and OF
    // (the high half is not the low's sign) are this form's (the product does not fit).
    const uint64_t desc = size | (uint64_t(1) << 8);
    t.ir.set_flags(flag::ARITH, t.ir.emit(Opcode::FlagsMulWide, {Arg::imm(desc), Arg::val(a), Arg::val(b)}));
    return true;
  }
  Value f = t.ir.emit(Opcode::FlagsImul, {Arg::val(a), Arg::val(b), Arg::imm(size)});
  t.ir.set_flags(flag::CF | flag::OF, f);  // (SF/ZF/AF/PF kept, as for mul_wide)
  return true;
}

}  // namespace

void register_frontend_shift_muldiv(FrontendTable& t) {
  t[ZYDIS_MNEMONIC_SHL] = shift<ShiftKind::Shl>;
  t[ZYDIS_MNEMONIC_SHR] = shift<ShiftKind::Shr>;
  t[ZYDIS_MNEMONIC_SAR] = shift<ShiftKind::Sar>;
  t[ZYDIS_MNEMONIC_ROL] = shift<ShiftKind::Rol>;
  t[ZYDIS_MNEMONIC_ROR] = shift<ShiftKind::Ror>;
  t[ZYDIS_MNEMONIC_RCL] = rotate_carry<true>;
  t[ZYDIS_MNEMONIC_RCR] = rotate_carry<false>;
  t[ZYDIS_MNEMONIC_SHLD] = shift_double<true>;
  t[ZYDIS_MNEMONIC_SHRD] = shift_double<false>;
  t[ZYDIS_MNEMONIC_IMUL] = imul;
  t[ZYDIS_MNEMONIC_MUL] = mul_wide<false>;
  t[ZYDIS_MNEMONIC_DIV] = divide<false>;
  t[ZYDIS_MNEMONIC_IDIV] = divide<true>;
}

}  // namespace vireo::jit
