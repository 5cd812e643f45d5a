// Frontend, control transfer (mirrors src/interp/control.cpp): jmp, jcc, jrcxz/jecxz, loop,
// call, ret, syscall. Each ends the block with a typed terminal.
#include "cpu/condition_codes.h"
#include "cpu/cpu_state.h"
#include "jit/cache/guess_sites.h"
#include "jit/frontend/call_guess.h"
#include "jit/frontend/jump_table.h"
#include "jit/frontend/translator.h"

namespace vireo::jit {

using ir::Arg;
using ir::Opcode;

namespace {

bool jmp(Translator& t, const Insn& in) {
  const Operand& o = in.op[0];
  if (o.kind == OpKind::Imm) {
    t.ir.jump(uint64_t(o.disp));
  } else if (Translator::is_integer_operand(o) && o.size == 8) {
    Value target = t.read(o, 8);
    // A dispatch through a read-only jump table: a chainable exit per entry (jump_table.h).
    // (its guard's side exit, if any, comes before the canonical check, which stays last
    // before the terminal: block_exits.cpp defers it to the miss path)
    const Value index = translate_jump_table(t, target);
    t.ir.emit(Opcode::CheckCanonical, {Arg::val(target)});
    t.ir.indirect(target);
    t.ir.block().term.cond = index;
  } else {
    return false;  // far jumps
  }
  t.ends_block = true;
  return true;
}

bool jcc(Translator& t, const Insn& in) {
  Value cond = t.ir.test_cond(in.cc);
  t.ir.branch(cond, uint64_t(in.op[0].disp), t.next_pc());
  t.ends_block = true;
  return true;
}

// jrcxz/jecxz: taken when the count register (rCX at the address size) is zero; no flags.
bool jrcxz(Translator& t, const Insn& in) {
  unsigned size = in.addrsize == 4 ? 4 : 8;
  Value rcx = t.zero_extend(t.ir.get_gpr(RCX), size);
  Value zero = t.ir.emit(Opcode::FlagsLogic, {Arg::val(rcx), Arg::imm(size)});
  t.ir.branch(t.ir.emit(Opcode::TestCond, {Arg::val(zero), Arg::imm(4)}), uint64_t(in.op[0].disp), t.next_pc());  // E
  t.ends_block = true;
  return true;
}

// loop: rCX -= 1 (no flags), taken while it is not zero. (loope/loopne and a 32-bit address
// size go to the interpreter.)
bool loop(Translator& t, const Insn& in) {
  if (in.addrsize != 8) return false;
  Value rcx = t.ir.op(Opcode::Sub, t.ir.get_gpr(RCX), t.constant(1));
  t.ir.set_gpr(RCX, rcx);
  Value zero = t.ir.emit(Opcode::FlagsLogic, {Arg::val(rcx), Arg::imm(8)});
  t.ir.branch(t.ir.emit(Opcode::TestCond, {Arg::val(zero), Arg::imm(5)}), uint64_t(in.op[0].disp), t.next_pc());  // NE
  t.ends_block = true;
  return true;
}

bool call(Translator& t, const Insn& in) {
  const Operand& o = in.op[0];
  if (o.kind != OpKind::Imm && !(Translator::is_integer_operand(o) && o.size == 8)) return false;
  Value target = o.kind == OpKind::Imm ? Value{} : t.read(o, 8);  // read before rsp moves
  // An indirect call whose target the block's entry state tells (call_guess.h) is the direct
  // call to that guess behind a compare: a chainable exit (or the callee followed into the
  // block, translate_block) instead of the jump-cache probe and an indirect host jmp. Any
  // other target leaves by a side exit to the call itself, before it has done anything, as
  // a followed callee's mismatched `ret` does: the block at the call's pc (never guessed: it
  // is that block's first instruction) runs it as an ordinary indirect call. The guess is
  // canonical, so the compare also proves the target canonical.
  // The miss leaves through the dispatcher, which counts it: a site that keeps missing is
  // dropped with its block and guessed no more (guess_sites.h).
  uint64_t guess = 0;
  if (target.valid() && t.guess_entry && t.insns_before > 0 && (!t.guess_sites || t.guess_sites->guessable(t.pc)))
    guess = guess_call_target(*t.guess_mem, *t.guess_entry, t.ir.block(), target);
  if (guess) {
    Value diff = t.ir.emit(Opcode::FlagsSub, {Arg::val(target), Arg::val(t.constant(guess)), Arg::imm(8)});
    Value ne = t.ir.emit(Opcode::TestCond, {Arg::val(diff), Arg::imm(5)});  // NE
    t.ir.emit(Opcode::ExitIf, {Arg::val(ne), Arg::imm(t.pc), Arg::imm(uint64_t(t.insns_before) | ir::kGuessMissExit)});
  } else if (target.valid()) {
    t.ir.emit(Opcode::CheckCanonical, {Arg::val(target)});
  }
  Value sp = t.ir.op(Opcode::Sub, t.ir.get_gpr(RSP), t.constant(8));
  t.store(sp, 8, t.constant(t.next_pc()));
  t.ir.set_gpr(RSP, sp);
  if (o.kind == OpKind::Imm) t.ir.jump(uint64_t(o.disp));
  else if (guess) t.ir.jump(guess);
  else t.ir.indirect(target);
  t.ends_block = true;
  return true;
}

bool ret(Translator& t, const Insn& in) {
  if (in.opcode == 0xCA || in.opcode == 0xCB) return false;  // far: CS checks, interpreter
  if (in.opsize == 2) return false;                         // 16-bit IP: interpreter
  Value sp = t.ir.get_gpr(RSP);
  Value target = t.load(sp, 8);
  t.ir.emit(Opcode::CheckCanonical, {Arg::val(target)});
  uint64_t pop = 8 + (in.nops ? (uint64_t(in.op[0].disp) & 0xFFFF) : 0);
  t.ir.set_gpr(RSP, t.ir.op(Opcode::Add, sp, t.constant(pop)));
  t.ir.indirect(target);
  t.ends_block = true;
  return true;
}

}  // namespace

bool is_plain_near_ret(const Insn& in) {
  return in.mnemonic == ZYDIS_MNEMONIC_RET && in.opcode == 0xC3 && in.opsize != 2;
}

// A `ret` of a callee the block followed from its `call` (translator.cpp): the return address
// on the stack is almost always the call's continuation, so the block compares it with that
// and goes on there in the same path. Anything else (longjmp, a rewritten return address, a
// callee that popped it) leaves by a side exit to the `ret` itself, before it has done
// anything: the block at that pc runs it as an ordinary return. So the guest state of the
// mismatch is the `ret`'s own (rsp not popped), the load of [rsp] faults as the `ret`'s
// would, and the continuation needs no canonical check (it is the call's next pc).
void translate_known_return(Translator& t, const Insn& in, uint64_t continuation, uint32_t insns_before) {
  Value sp = t.ir.get_gpr(RSP);
  Value target = t.load(sp, 8);
  Value diff = t.ir.emit(Opcode::FlagsSub, {Arg::val(target), Arg::val(t.constant(continuation)), Arg::imm(8)});
  Value ne = t.ir.emit(Opcode::TestCond, {Arg::val(diff), Arg::imm(5)});  // NE
  t.ir.emit(Opcode::ExitIf, {Arg::val(ne), Arg::imm(t.pc), Arg::imm(insns_before)});
  t.ir.set_gpr(RSP, t.ir.op(Opcode::Add, sp, t.constant(8)));
  t.ir.jump(continuation);
  t.ends_block = true;
  (void)in;
}

namespace {

bool syscall(Translator& t, const Insn&) {
  // SYSCALL: RCX = next rip, R11 = rflags (as the interpreter does), then the platform runs.
  t.ir.set_gpr(RCX, t.constant(t.next_pc()));
  Value fl = t.ir.emit(Opcode::GetFlags, {});
  t.ir.set_gpr(R11, t.ir.op(Opcode::And, fl, t.constant(~flag::RF)));
  t.ir.syscall(t.next_pc());
  t.ends_block = true;
  return true;
}

}  // namespace

void register_frontend_control(FrontendTable& t) {
  t[ZYDIS_MNEMONIC_JMP] = jmp;
  t[ZYDIS_MNEMONIC_CALL] = call;
  t[ZYDIS_MNEMONIC_RET] = ret;
  t[ZYDIS_MNEMONIC_SYSCALL] = syscall;
  for (auto m : kJccMnemonics) t[m] = jcc;
  t[ZYDIS_MNEMONIC_JRCXZ] = jrcxz;
  t[ZYDIS_MNEMONIC_JECXZ] = jrcxz;
  t[ZYDIS_MNEMONIC_LOOP] = loop;
}

}  // namespace vireo::jit
