// Frontend, data movement (mirrors src/interp/move.cpp): mov, movzx, movsx, movsxd, lea,
// cmovcc, setcc, xchg, bswap, movbe, the cbw/cwd families, and the no-op family.
#include <utility>

#include "cpu/condition_codes.h"
#include "cpu/cpu_state.h"
#include "cpu/host_quirks.h"
#include "cpu/no_effect_mnemonics.h"
#include "jit/frontend/shift_kind.h"
#include "jit/frontend/translator.h"

namespace vireo::jit {

using ir::Arg;
using ir::Opcode;

namespace {

bool mov(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (!Translator::is_integer_operand(d) || !Translator::is_integer_operand(s)) return false;
  t.write(d, d.size, t.read(s, d.size));
  return true;
}

bool movzx(Translator& t, const Insn& in) {
  if (!Translator::is_integer_operand(in.op[1]) || in.op[0].kind != OpKind::Reg) return false;
  t.write(in.op[0], in.op[0].size, t.read(in.op[1], in.op[1].size));
  return true;
}

bool movsx(Translator& t, const Insn& in) {
  if (!Translator::is_integer_operand(in.op[1]) || in.op[0].kind != OpKind::Reg) return false;
  Value v = t.sign_extend(t.read(in.op[1], in.op[1].size), in.op[1].size);
  t.write(in.op[0], in.op[0].size, v);
  return true;
}

// movsxd r16, m32: as interp/move.cpp's movsxd (cpu/host_quirks.h).
bool movsxd(Translator& t, const Insn& in) {
  if (in.op[0].size != 2 || in.op[1].kind != OpKind::Mem || !host_movsxd16_reads_two_bytes())
    return movsx(t, in);
  if (in.op[0].kind != OpKind::Reg) return false;
  Operand src = in.op[1];
  src.size = 2;
  t.write(in.op[0], 2, t.read(src, 2));
  return true;
}

bool lea(Translator& t, const Insn& in) {
  if (in.op[0].kind != OpKind::Reg || in.op[0].rclass != RegClass::Gpr) return false;
  // lea computes the offset only: no segment base (Exec::offset).
  Operand o = in.op[1];
  o.seg = kNoReg;
  t.write(in.op[0], in.op[0].size, t.address(o));
  return true;
}

bool cmovcc(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  if (d.kind != OpKind::Reg || d.rclass != RegClass::Gpr || !Translator::is_integer_operand(in.op[1]))
    return false;
  Value src = t.read(in.op[1], d.size);  // read (and fault) whatever the condition
  Value cond = t.ir.test_cond(in.cc);
  Value old = t.read(d, d.size);
  t.write(d, d.size, t.ir.emit(Opcode::Select, {Arg::val(cond), Arg::val(src), Arg::val(old)}));
  return true;
}

bool setcc(Translator& t, const Insn& in) {
  if (!Translator::is_integer_operand(in.op[0])) return false;
  Value cond = t.ir.test_cond(in.cc);
  Value v = t.ir.emit(Opcode::Select, {Arg::val(cond), Arg::val(t.constant(1)), Arg::val(t.constant(0))});
  t.write(in.op[0], 1, v);
  return true;
}

bool nop(Translator&, const Insn&) { return true; }

bool bswap(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  if (d.kind != OpKind::Reg || d.rclass != RegClass::Gpr || d.size < 4) return false;  // r16: undefined
  Value v = t.read(d, d.size);
  t.write(d, d.size, t.ir.op(d.size == 8 ? Opcode::Bswap64 : Opcode::Bswap32, v));
  return true;
}

// xchg: between two registers, or a register and memory (implicitly locked, which a
// single-threaded guest does not need on the host; the store comes before the register write,
// so a fault leaves the register unchanged).
bool xchg(Translator& t, const Insn& in) {
  const Operand* a = &in.op[0];
  const Operand* b = &in.op[1];
  auto gpr = [](const Operand& o) {
    return o.kind == OpKind::Reg && (o.rclass == RegClass::Gpr || o.rclass == RegClass::GprHigh);
  };
  if (a->kind == OpKind::Mem) std::swap(a, b);
  if (!gpr(*a) || !(gpr(*b) || b->kind == OpKind::Mem)) return false;
  unsigned size = a->size;
  RmwDestination other(t, *b, size);
  Value va = t.read(*a, size), vb = other.read(t);
  other.write(t, va);
  t.write(*a, size, vb);
  return true;
}

// cbw/cwde/cdqe: sign-extend the low half of rAX into the operand size.
bool cbw_family(Translator& t, const Insn& in) {
  Operand rax{OpKind::Reg, in.opsize, RegClass::Gpr, RAX, kNoReg, kNoReg, kNoReg, 1, 0};
  unsigned half = in.opsize / 2;
  Value v = t.sign_extend(t.zero_extend(t.ir.get_gpr(RAX), half), half);
  t.write(rax, in.opsize, v);
  return true;
}

// cwd/cdq/cqo: fill rDX with the sign of rAX.
bool cwd_family(Translator& t, const Insn& in) {
  Operand rdx{OpKind::Reg, in.opsize, RegClass::Gpr, RDX, kNoReg, kNoReg, kNoReg, 1, 0};
  Value v = t.sign_extend(t.zero_extend(t.ir.get_gpr(RAX), in.opsize), in.opsize);
  t.write(rdx, in.opsize, t.ir.op(Opcode::Sar, v, t.constant(63)));
  return true;
}

// movbe r, m / movbe m, r: a load or store with the bytes reversed (a word's by a rotate by 8).
bool movbe(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  bool load = d.kind == OpKind::Reg && d.rclass == RegClass::Gpr && s.kind == OpKind::Mem;
  bool store = d.kind == OpKind::Mem && s.kind == OpKind::Reg && s.rclass == RegClass::Gpr;
  if (!load && !store) return false;
  unsigned size = d.size;
  Value v = t.read(s, size);
  Value r;
  if (size == 2) {
    uint64_t desc = uint64_t(ShiftKind::Rol) | (2 << 8) | (8 << 16);
    r = t.ir.emit(Opcode::Shift, {Arg::imm(desc), Arg::val(v)});
  } else {
    r = t.ir.op(size == 8 ? Opcode::Bswap64 : Opcode::Bswap32, v);
  }
  t.write(d, size, r);
  return true;
}

// movnti m, r: a plain store for a single-threaded guest (the non-temporal hint is a hint).
bool movnti(Translator& t, const Insn& in) {
  if (in.op[0].kind != OpKind::Mem || !Translator::is_integer_operand(in.op[1])) return false;
  t.write(in.op[0], in.op[0].size, t.read(in.op[1], in.op[0].size));
  return true;
}

}  // namespace

void register_frontend_move(FrontendTable& t) {
  t[ZYDIS_MNEMONIC_MOV] = mov;
  t[ZYDIS_MNEMONIC_MOVZX] = movzx;
  t[ZYDIS_MNEMONIC_MOVSX] = movsx;
  t[ZYDIS_MNEMONIC_MOVSXD] = movsxd;
  t[ZYDIS_MNEMONIC_LEA] = lea;
  for (auto m : kNoEffectMnemonics) t[m] = nop;
  t[ZYDIS_MNEMONIC_CBW] = cbw_family;
  t[ZYDIS_MNEMONIC_CWDE] = cbw_family;
  t[ZYDIS_MNEMONIC_CDQE] = cbw_family;
  t[ZYDIS_MNEMONIC_CWD] = cwd_family;
  t[ZYDIS_MNEMONIC_CDQ] = cwd_family;
  t[ZYDIS_MNEMONIC_CQO] = cwd_family;
  t[ZYDIS_MNEMONIC_MOVNTI] = movnti;
  t[ZYDIS_MNEMONIC_MOVBE] = movbe;
  t[ZYDIS_MNEMONIC_BSWAP] = bswap;
  t[ZYDIS_MNEMONIC_XCHG] = xchg;
  for (auto m : kCmovccMnemonics) t[m] = cmovcc;
  for (auto m : kSetccMnemonics) t[m] = setcc;
}

}  // namespace vireo::jit
