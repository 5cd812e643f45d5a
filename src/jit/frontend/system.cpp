// Frontend, system instructions in system mode (mirrors src/interp/system/: stack_modes.cpp
// pushf, io.cpp cli, control_regs.cpp rdtsc/rdtscp and MOV from CRn, segments.cpp MOV from a
// segment register). Only what a Linux kernel runs often, and only the forms that cannot
// fault at the block's CPL (part of its key) or fault only where a translated access would
// (the stack store of pushfq); every other form stays an interpreter fallback, so the
// privilege checks and events are the interpreter's. System mode translates 64-bit code only.
//
// Pushfq, cli, swapgs, rdtsc(p) and the register reads change nothing a block was translated
// under: the block goes on. STI and POPFQ end it, returning to the dispatcher, which does what
// the interpreter does after them (the STI shadow, POPF's interrupt window: the after-block
// word). IRET and MOV to CRn or a segment register stay fallbacks, which end the block when
// they change the mode, open an interrupt window or set a shadow
// (SystemJitEngine::fallback_helper).
#include "jit/frontend/system.h"

#include <cstddef>

#include "cpu/cpu_state.h"

namespace vireo::jit {

using ir::Arg;
using ir::Opcode;

namespace {

Value cpu_field(Translator& t, size_t offset) { return t.ir.emit(Opcode::GetCpuField, {Arg::imm(offset)}); }

size_t selector_offset(unsigned seg) {
  return offsetof(CpuState, seg) + seg * sizeof(Segment) + offsetof(Segment, selector);
}
// (GetCpuField reads a qword: the selector's, with the attributes and limit above it)
static_assert(offsetof(Segment, selector) + 8 <= sizeof(Segment));

// PUSHFQ: RFLAGS without RF and VM (SDM Vol. 2, PUSHF; interp: stack_modes.cpp pushf). In
// 64-bit mode it never faults for privilege (VM is 0); the store faults as any push does.
bool pushfq(Translator& t, const Insn& in) {
  if (in.opsize != 8) return false;
  Value v = t.ir.op(Opcode::And, t.ir.emit(Opcode::GetFlags, {}), t.constant(~(flag::RF | flag::VM)));
  Value sp = t.ir.op(Opcode::Sub, t.ir.get_gpr(RSP), t.constant(8));
  t.store(sp, 8, v);
  t.ir.set_gpr(RSP, sp);
  return true;
}

// CLI at CPL 0 (never above IOPL): IF = 0 (interp: io.cpp cli). Other CPLs are checked
// against IOPL by the interpreter.
bool cli(Translator& t, const Insn&) {
  if (t.sys->cpl != 0) return false;
  t.ir.set_flags(flag::IF, t.constant(0));
  return true;
}

// STI at CPL 0 (never above IOPL; interp: io.cpp sti): IF = 1, and the block ends at the
// dispatcher. When IF was 0 the after-block word gets kAfterSti: the dispatcher then sets the
// shadow as the interpreter's STI does, from the instruction count at the block's end, so the
// next instruction runs in the interpreter and the interrupt window opens after it.
bool sti(Translator& t, const Insn&) {
  if (t.sys->cpl != 0 || !t.sys->after_block) return false;
  Value was = t.ir.op(Opcode::And, t.ir.emit(Opcode::GetFlags, {}), t.constant(flag::IF));
  Value word = t.ir.op(Opcode::Xor, t.ir.op(Opcode::Shr, was, t.constant(9)), t.constant(kAfterSti));
  t.ir.emit(Opcode::StoreHost32, {Arg::imm(uint64_t(t.sys->after_block)), Arg::val(word)});
  t.ir.set_flags(flag::IF, t.constant(flag::IF));
  t.ir.exit_to(t.next_pc());
  t.ends_block = true;
  return true;
}

// POPFQ at CPL 0 (interp: stack_modes.cpp popf): every flag POPF may change at CPL 0 (IF and
// IOPL included), RF, VIP and VIF cleared; the stack load faults as any pop does. The block
// ends at the dispatcher (TF and AC make it run the interpreter); when IF went from 0 to 1 the
// after-block word gets kAfterPoll, and the dispatcher takes a pending interrupt there, where
// the interpreter's POPF opens its window.
bool popfq(Translator& t, const Insn& in) {
  if (in.opsize != 8 || t.sys->cpl != 0 || !t.sys->after_block || !t.sys->inline_popf) return false;
  constexpr uint64_t mask = flag::ARITH | flag::TF | flag::DF | flag::NT | flag::AC | flag::ID | flag::IF | flag::IOPL;
  Value sp = t.ir.get_gpr(RSP);
  Value v = t.load(sp, 8);
  Value old = t.ir.emit(Opcode::GetFlags, {});
  Value rose = t.ir.op(Opcode::And, t.ir.op(Opcode::And, v, t.ir.op(Opcode::Not, old)), t.constant(flag::IF));
  t.ir.emit(Opcode::StoreHost32, {Arg::imm(uint64_t(t.sys->after_block)),
                                  Arg::val(t.ir.op(Opcode::Shr, rose, t.constant(9 - 1)))});  // (kAfterPoll)
  static_assert(kAfterPoll == 1u << 1);
  t.ir.set_gpr(RSP, t.ir.op(Opcode::Add, sp, t.constant(8)));
  t.ir.set_flags(mask | flag::RF | flag::VIP | flag::VIF | flag::FIXED1,
                 t.ir.op(Opcode::Or, t.ir.op(Opcode::And, v, t.constant(mask)), t.constant(flag::FIXED1)));
  t.ir.exit_to(t.next_pc());
  t.ends_block = true;
  return true;
}

// SWAPGS at CPL 0 (64-bit code only, as every system-mode block; interp: fast_calls.cpp
// swapgs): GS.base and IA32_KERNEL_GS_BASE exchanged. GS-relative accesses read the base from
// CpuState at each use (GetSegBase), so the block goes on.
bool swapgs(Translator& t, const Insn&) {
  if (t.sys->cpl != 0) return false;
  constexpr size_t gs = offsetof(CpuState, seg) + SEG_GS * sizeof(Segment) + offsetof(Segment, base);
  constexpr size_t kgs = offsetof(CpuState, kernel_gs_base);
  Value a = cpu_field(t, gs), b = cpu_field(t, kgs);
  t.ir.emit(Opcode::SetCpuField, {Arg::imm(gs), Arg::val(b)});
  t.ir.emit(Opcode::SetCpuField, {Arg::imm(kgs), Arg::val(a)});
  return true;
}

// CMPXCHG16B m128, any CPL, with or without LOCK (system mode has one CPU; interp: atomic.cpp
// cmpxchg8b_16b): #GP(0) for a misaligned operand (the interpreter raises it), then the two
// loads, and the operand written in both cases (back with its own value when it differs), so a
// read-only page faults either way; ZF alone changes.
bool cmpxchg16b(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  if (d.kind != OpKind::Mem || d.size != 16) return false;
  Value addr = t.address(d);
  t.ir.emit(Opcode::CheckAligned16, {Arg::val(addr)});
  Value addr_hi = t.ir.op(Opcode::Add, addr, t.constant(8));
  Value lo = t.load(addr, 8), hi = t.load(addr_hi, 8);
  Value rax = t.ir.get_gpr(RAX), rdx = t.ir.get_gpr(RDX);
  Value diff = t.ir.op(Opcode::Or, t.ir.op(Opcode::Xor, lo, rax), t.ir.op(Opcode::Xor, hi, rdx));
  Value f = t.ir.emit(Opcode::FlagsSub, {Arg::val(diff), Arg::val(t.constant(0)), Arg::imm(8)});
  Value eq = t.ir.emit(Opcode::TestCond, {Arg::val(f), Arg::imm(4)});  // (E/Z)
  auto select = [&](Value a, Value b) { return t.ir.emit(Opcode::Select, {Arg::val(eq), Arg::val(a), Arg::val(b)}); };
  t.store(addr, 8, select(t.ir.get_gpr(RBX), lo));
  t.store(addr_hi, 8, select(t.ir.get_gpr(RCX), hi));
  t.ir.set_gpr(RAX, select(rax, lo));
  t.ir.set_gpr(RDX, select(rdx, hi));
  t.ir.set_flags(flag::ZF, select(t.constant(flag::ZF), t.constant(0)));
  return true;
}

// RDTSC/RDTSCP at CPL 0 (CR4.TSD restricts only other CPLs): the host TSC plus the guest's
// offset, as the interpreter reads it (control_regs.cpp rdtsc); RDTSCP also ECX = TSC_AUX.
template <bool with_aux>
bool rdtsc(Translator& t, const Insn&) {
  if (t.sys->cpl != 0 || !t.sys->inline_tsc) return false;
  Value tsc = t.ir.op(Opcode::Add, t.ir.emit(Opcode::ReadTsc, {}), cpu_field(t, offsetof(CpuState, tsc_offset)));
  t.ir.set_gpr(RAX, t.ir.op(Opcode::ZeroExt32, tsc));
  t.ir.set_gpr(RDX, t.ir.op(Opcode::Shr, tsc, t.constant(32)));
  if (with_aux)
    t.ir.set_gpr(RCX, t.ir.op(Opcode::ZeroExt32, t.ir.emit(Opcode::LoadHost64, {Arg::imm(uint64_t(t.sys->tsc_aux))})));
  return true;
}

// RDTSC/RDTSCP in user mode (interp: system.cpp rdtsc): the host TSC plus CpuState's offset,
// EDX:EAX, and RDTSCP's ECX = 0 (IA32_TSC_AUX: processor 0). ld.so's lazy binding and
// CPython's start-up read it some hundreds of times; as a fallback each left the block's
// registers to CpuState and ran the interpreter. (System mode: rdtsc<> above, through
// system_frontend, which takes precedence.)
template <bool with_aux>
bool user_rdtsc(Translator& t, const Insn&) {
  if (t.sys) return false;
  Value tsc = t.ir.op(Opcode::Add, t.ir.emit(Opcode::ReadTsc, {}), cpu_field(t, offsetof(CpuState, tsc_offset)));
  t.ir.set_gpr(RAX, t.ir.op(Opcode::ZeroExt32, tsc));
  t.ir.set_gpr(RDX, t.ir.op(Opcode::Shr, tsc, t.constant(32)));
  if (with_aux) t.ir.set_gpr(RCX, t.constant(0));
  return true;
}

// MOV r/m, Sreg (interp: segments.cpp mov -> the user mov): the selector, zero-extended to the
// destination's size; no privilege check. MOV r64, CRn at CPL 0 for the control registers
// that exist (interp: control_regs.cpp mov_control; CR1, CR5-7 raise #UD there). Everything
// else that is not an ordinary MOV (to a segment or control register, debug registers) is
// the interpreter's.
bool mov(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  const bool d_reg = d.kind == OpKind::Reg, s_reg = s.kind == OpKind::Reg;
  if (s_reg && s.rclass == RegClass::Seg) {
    if (d_reg && d.rclass != RegClass::Gpr) return false;
    if (!d_reg && d.kind != OpKind::Mem) return false;
    if (s.reg >= SEG_COUNT) return false;
    Value sel = t.ir.op(Opcode::ZeroExt16, cpu_field(t, selector_offset(s.reg)));
    t.write(d, d.size, sel);
    return true;
  }
  if (s_reg && s.rclass == RegClass::Cr) {
    if (t.sys->cpl != 0 || !d_reg || d.rclass != RegClass::Gpr || d.size != 8) return false;
    size_t off;
    switch (s.reg) {
      case 0: off = offsetof(CpuState, cr0); break;
      case 2: off = offsetof(CpuState, cr2); break;
      case 3: off = offsetof(CpuState, cr3); break;
      case 4: off = offsetof(CpuState, cr4); break;
      case 8: off = offsetof(CpuState, cr8); break;
      default: return false;
    }
    t.ir.set_gpr(d.reg, cpu_field(t, off));
    return true;
  }
  if ((d_reg && (d.rclass == RegClass::Seg || d.rclass == RegClass::Cr || d.rclass == RegClass::Dr)) ||
      (s_reg && s.rclass == RegClass::Dr))
    return false;
  FrontendFn user = frontend_table()[ZYDIS_MNEMONIC_MOV];
  return user && user(t, in);
}

}  // namespace

void register_frontend_system(FrontendTable& t) {
  t[ZYDIS_MNEMONIC_RDTSC] = user_rdtsc<false>;
  t[ZYDIS_MNEMONIC_RDTSCP] = user_rdtsc<true>;
}

FrontendFn system_frontend(const Insn& in) {
  switch (in.mnemonic) {
    case ZYDIS_MNEMONIC_PUSHFQ: return pushfq;
    case ZYDIS_MNEMONIC_CLI: return cli;
    case ZYDIS_MNEMONIC_STI: return sti;
    case ZYDIS_MNEMONIC_POPFQ: return popfq;
    case ZYDIS_MNEMONIC_SWAPGS: return swapgs;
    case ZYDIS_MNEMONIC_CMPXCHG16B: return cmpxchg16b;
    case ZYDIS_MNEMONIC_RDTSC: return rdtsc<false>;
    case ZYDIS_MNEMONIC_RDTSCP: return rdtsc<true>;
    case ZYDIS_MNEMONIC_MOV: return mov;
    default: return nullptr;
  }
}

}  // namespace vireo::jit
