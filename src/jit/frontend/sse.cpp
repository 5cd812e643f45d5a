// Frontend, SSE/SSE2 (mirrors src/interp/sse_*.cpp). Host and guest are both x86-64, so a
// guest SSE instruction is re-emitted as the same host instruction on host XMM registers
// (SseRR/SseRM/...); the backend loads and stores the guest XMM registers in CpuState around
// it. Forms not listed here go to the interpreter.
#include <Zydis/Mnemonic.h>

#include "cpu/cpu_state.h"
#include "jit/frontend/system.h"
#include "jit/frontend/sse_forms.h"
#include "jit/frontend/translator.h"

namespace vireo::jit {

using ir::Arg;
using ir::Opcode;

namespace {

bool is_xmm(const Operand& o) { return o.kind == OpKind::Reg && o.rclass == RegClass::Xmm; }
bool is_gpr(const Operand& o) { return o.kind == OpKind::Reg && o.rclass == RegClass::Gpr; }

uint64_t form(const Insn& in, const Operand* mem, uint8_t imm8 = 0, uint8_t gpr_size = 0) {
  SseBits b;
  b.mnemonic = in.mnemonic;
  b.imm8 = imm8;
  b.gpr_size = gpr_size;
  if (mem) {
    b.mem_size = mem->size;
    b.align = sse_needs_alignment(in.mnemonic, mem->size);
  }
  return pack(b);
}

// xmm, xmm/m [, imm8]: the two-operand computational and load forms.
bool binary(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  uint8_t imm8 = in.nops > 2 && in.op[2].kind == OpKind::Imm ? uint8_t(in.op[2].disp) : 0;
  if (!is_xmm(d) || !sse_host_runs(in.mnemonic)) return false;
  if (is_xmm(s)) {
    t.ir.emit(Opcode::SseRR, {Arg::imm(form(in, nullptr, imm8)), Arg::imm(d.reg), Arg::imm(s.reg)});
    return true;
  }
  if (s.kind == OpKind::Mem) {
    Value a = t.address(s);
    t.ir.emit(Opcode::SseRM, {Arg::imm(form(in, &s, imm8)), Arg::imm(d.reg), Arg::val(a)});
    return true;
  }
  return false;
}

// Shifts by an immediate (psllw xmm, imm8 ...): one operand register, an imm8.
bool shift_imm(Translator& t, const Insn& in) {
  if (!is_xmm(in.op[0]) || in.op[1].kind != OpKind::Imm) return binary(t, in);
  // gpr_size 0xFF marks the immediate form (no source register).
  t.ir.emit(Opcode::SseRR, {Arg::imm(form(in, nullptr, uint8_t(in.op[1].disp), 0xFF)), Arg::imm(in.op[0].reg),
                            Arg::imm(in.op[0].reg)});
  return true;
}

// Moves: load forms are binary(); store forms write memory; GPR forms go through SseRG/ToGpr.
bool move(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (d.kind == OpKind::Mem && is_xmm(s)) {
    Value a = t.address(d);
    t.ir.emit(Opcode::SseStore, {Arg::imm(form(in, &d)), Arg::imm(s.reg), Arg::val(a)});
    return true;
  }
  if (is_xmm(d) && is_gpr(s)) {  // movd/movq xmm, r
    t.ir.emit(Opcode::SseRG, {Arg::imm(form(in, nullptr, 0, s.size)), Arg::imm(d.reg),
                              Arg::val(t.read(s, s.size))});
    return true;
  }
  if (is_gpr(d) && is_xmm(s)) {  // movd/movq r, xmm
    Value v = t.ir.emit(Opcode::SseToGpr, {Arg::imm(form(in, nullptr, 0, d.size)), Arg::imm(s.reg)});
    t.write(d, d.size, v);
    return true;
  }
  return binary(t, in);
}

// cvtsi2sd/cvtsi2ss xmm, r/m32/64: the integer operand is read as a GPR value.
bool from_int(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (!is_xmm(d) || !Translator::is_integer_operand(s) || s.kind == OpKind::Imm) return false;
  t.ir.emit(Opcode::SseRG, {Arg::imm(form(in, nullptr, 0, s.size)), Arg::imm(d.reg),
                            Arg::val(t.read(s, s.size))});
  return true;
}

// cvt(t)sd2si/cvt(t)ss2si r32/64, xmm/m; movmskpd/ps, pmovmskb r32, xmm.
bool to_int(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (!is_gpr(d)) return false;
  Value v;
  uint64_t f = form(in, s.kind == OpKind::Mem ? &s : nullptr, 0, d.size);  // GPR width: host form
  if (is_xmm(s)) v = t.ir.emit(Opcode::SseToGpr, {Arg::imm(f), Arg::imm(s.reg)});
  else if (s.kind == OpKind::Mem) v = t.ir.emit(Opcode::SseToGprM, {Arg::imm(f), Arg::val(t.address(s))});
  else return false;
  t.write(d, d.size, v);
  return true;
}

// comisd/ucomisd/comiss/ucomiss: set ZF, PF, CF; clear OF, SF, AF (SDM Vol. 2, COMISD).
bool compare_flags(Translator& t, const Insn& in) {
  const Operand& a = in.op[0];
  const Operand& b = in.op[1];
  if (!is_xmm(a)) return false;
  Value f;
  if (is_xmm(b)) f = t.ir.emit(Opcode::SseFlagsRR, {Arg::imm(form(in, nullptr)), Arg::imm(a.reg), Arg::imm(b.reg)});
  else f = t.ir.emit(Opcode::SseFlagsRM, {Arg::imm(form(in, &b)), Arg::imm(a.reg), Arg::val(t.address(b))});
  t.ir.set_flags(flag::ARITH, f);
  return true;
}

// pextrb/w/d/q, extractps r/m, xmm, imm8: a GPR destination gets the element zero-extended
// (a 32-bit host write: the r64 forms of pextrb/w and extractps zero-extend too); a memory one
// is a store of the element's size, with no alignment rule.
bool extract(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (in.nops < 3 || !is_xmm(s) || in.op[2].kind != OpKind::Imm) return false;
  const uint8_t imm8 = uint8_t(in.op[2].disp);
  if (is_gpr(d)) {
    Value v = t.ir.emit(Opcode::SseToGpr, {Arg::imm(form(in, nullptr, imm8, d.size)), Arg::imm(s.reg)});
    t.write(d, d.size, v);
    return true;
  }
  if (d.kind != OpKind::Mem) return false;
  Value a = t.address(d);
  t.ir.emit(Opcode::SseStore, {Arg::imm(form(in, &d, imm8)), Arg::imm(s.reg), Arg::val(a)});
  return true;
}

// pinsrb/w/d/q xmm, r/m, imm8: the element from a GPR value (SseRG) or from memory (SseRM,
// a load of the element's size).
bool insert(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (in.nops < 3 || !is_xmm(d) || in.op[2].kind != OpKind::Imm) return false;
  const uint8_t imm8 = uint8_t(in.op[2].disp);
  if (is_gpr(s)) {
    t.ir.emit(Opcode::SseRG, {Arg::imm(form(in, nullptr, imm8, s.size)), Arg::imm(d.reg),
                              Arg::val(t.read(s, s.size))});
    return true;
  }
  if (s.kind != OpKind::Mem) return false;
  Value a = t.address(s);
  t.ir.emit(Opcode::SseRM, {Arg::imm(form(in, &s, imm8)), Arg::imm(d.reg), Arg::val(a)});
  return true;
}

// pcmpistri/pcmpestri xmm1, xmm2/m128, imm8 (SDM Vol. 2, PCMPISTRI): RCX = the index (a
// 32-bit write), CF/ZF/SF/OF from the compare, AF/PF cleared; pcmpestri reads its lengths
// from EAX/EDX (RAX/RDX with REX.W, form bit gpr_size = 8). The op's value packs both: the
// index in bits 0..31, RFLAGS above. (The first register rides in the form's bits 48..51: an
// IR instruction has at most four operands.)
bool string_index(Translator& t, const Insn& in) {
  const Operand& a = in.op[0];
  const Operand& b = in.op[1];
  if (in.nops < 3 || !is_xmm(a) || in.op[2].kind != OpKind::Imm || !sse_host_runs(in.mnemonic)) return false;
  const uint8_t imm8 = uint8_t(in.op[2].disp);
  // REX.W: the byte before the 0F 3A escape (the legacy prefixes come before it).
  uint8_t gpr_size = 4;
  for (unsigned k = 1; k + 1 < in.len; ++k)
    if (in.bytes[k] == 0x0F && in.bytes[k + 1] == 0x3A) {
      if ((in.bytes[k - 1] & 0xF8) == 0x48) gpr_size = 8;
      break;
    }
  const bool explicit_lengths = in.mnemonic == ZYDIS_MNEMONIC_PCMPESTRI;
  Value rax = explicit_lengths ? t.ir.get_gpr(RAX) : t.constant(0);
  Value rdx = explicit_lengths ? t.ir.get_gpr(RDX) : t.constant(0);
  Value v;
  if (is_xmm(b)) {
    v = t.ir.emit(Opcode::SseStrIdx, {Arg::imm(form(in, nullptr, imm8, gpr_size) | uint64_t(a.reg) << 48),
                                      Arg::imm(b.reg), Arg::val(rax), Arg::val(rdx)});
  } else if (b.kind == OpKind::Mem && !t.sys) {  // (system mode: emit_sse_string.cpp says why)
    Value addr = t.address(b);
    v = t.ir.emit(Opcode::SseStrIdxM, {Arg::imm(form(in, &b, imm8, gpr_size) | uint64_t(a.reg) << 48),
                                       Arg::val(addr), Arg::val(rax), Arg::val(rdx)});
  } else {
    return false;
  }
  t.ir.set_gpr(RCX, t.ir.op(Opcode::ZeroExt32, v));
  t.ir.set_flags(flag::ARITH, t.ir.op(Opcode::Shr, v, t.constant(32)));
  return true;
}

}  // namespace

void register_frontend_sse(FrontendTable& t) {
  for (const SseForm& f : sse_forms()) {
    switch (f.kind) {
      case SseKind::Binary: t[f.mnemonic] = binary; break;
      case SseKind::ShiftImm: t[f.mnemonic] = shift_imm; break;
      case SseKind::Move: t[f.mnemonic] = move; break;
      case SseKind::FromInt: t[f.mnemonic] = from_int; break;
      case SseKind::ToInt: t[f.mnemonic] = to_int; break;
      case SseKind::CompareFlags: t[f.mnemonic] = compare_flags; break;
      case SseKind::Extract: t[f.mnemonic] = extract; break;
      case SseKind::Insert: t[f.mnemonic] = insert; break;
      case SseKind::StringIndex: t[f.mnemonic] = string_index; break;
    }
  }
}

}  // namespace vireo::jit
