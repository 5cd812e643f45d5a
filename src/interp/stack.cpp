// Stack: push, pop, leave, enter, pushf, popf.
#include <Zydis/Mnemonic.h>

#include "interp/dispatch.h"
#include "interp/exec.h"
#include "interp/memory_fault.h"
#include "interp/user_segments.h"

namespace vireo {

namespace {

// In 64-bit mode push/pop are 64-bit unless a 66h prefix makes them 16-bit.
void push(Exec& x, const Insn& in) {
  const Operand& s = in.op[0];
  uint64_t v = x.read_as(in, s, in.opsize);
  if (in.opsize == 2) {
    uint64_t sp = x.gpr(RSP) - 2;
    x.store<uint16_t>(sp, uint16_t(v));
    x.cpu->gpr[RSP] = sp;
  } else {
    if (s.kind == OpKind::Reg && s.rclass == RegClass::Seg) v &= 0xFFFF;
    x.push64(v);
  }
}

void pop(Exec& x, const Insn& in) {
  const Operand& d = in.op[0];
  uint64_t sp = x.gpr(RSP);
  unsigned size = in.opsize == 2 ? 2 : 8;
  uint64_t v = x.load_sized(sp, size);
  if (d.kind == OpKind::Mem) {
    // pop [rsp+disp] addresses with the incremented rsp (SDM Vol. 2, POP), but rsp itself may
    // only change once the store has succeeded: a fault leaves it as it was.
    x.cpu->gpr[RSP] = sp + size;
    uint64_t la = x.linear(in, d);
    x.cpu->gpr[RSP] = sp;
    x.store_sized(la, size, v);
    x.cpu->gpr[RSP] = sp + size;
    return;
  }
  if (d.rclass == RegClass::Seg) {
    load_user_segment(x, d.reg, uint16_t(v));  // (may fault: rsp not yet changed)
    x.cpu->gpr[RSP] = sp + size;
    return;
  }
  x.cpu->gpr[RSP] = sp + size;
  x.write(in, d, v);
}

// leave: rsp = rbp, then pop rbp at the operand size (66h: only BP is loaded).
void leave(Exec& x, const Insn& in) {
  const unsigned size = in.opsize == 2 ? 2 : 8;
  uint64_t bp = x.gpr(RBP);
  uint64_t v = x.load_sized(bp, size);
  x.cpu->gpr[RSP] = bp + size;
  x.set_gpr(RBP, size, v);
}

// enter imm16, imm8 (SDM Vol. 2, ENTER). The stack is 64-bit whatever the operand size; 66h
// makes the pushes (rbp and the display) 2 bytes and loads only BP. After the pushes the
// hardware checks that the final stack pointer can be written: a frame beyond the stack
// faults there (the pushed values stay in memory, the registers are unchanged).
void enter(Exec& x, const Insn& in) {
  const unsigned osz = in.opsize == 2 ? 2 : 8;
  const uint16_t alloc = uint16_t(in.op[0].disp);
  const uint8_t level = uint8_t(in.op[1].disp) & 31;
  uint64_t sp = x.gpr(RSP);
  sp -= osz;
  x.store_sized(sp, osz, x.gpr(RBP));
  const uint64_t frame = sp;
  uint64_t bp = x.gpr(RBP);
  // The display copy reads through rBP; under EFLAGS.AC (user mode) a misaligned rBP is #AC
  // there, after the push of rBP has reached memory (user_traps.cpp checks the push itself).
  if (level > 1 && (x.cpu->rflags & flag::AC) && !x.sys && (bp & (osz - 1)) && is_canonical(bp - osz))
    x.raise(VEC_AC, 0, true);
  for (unsigned i = 1; i < level; ++i) {
    bp -= osz;
    sp -= osz;
    x.store_sized(sp, osz, x.load_sized(bp, osz));
  }
  if (level > 0) {
    sp -= osz;
    x.store_sized(sp, osz, frame);
  }
  x.probe_write(sp - alloc);
  x.set_gpr(RBP, osz, frame);
  x.cpu->gpr[RSP] = sp - alloc;
}

// RF and VM read as 0 in the pushed image (SDM Vol. 2, PUSHF).
void pushf(Exec& x, const Insn& in) {
  uint64_t v = x.cpu->rflags & ~(flag::RF | flag::VM);
  if (in.opsize == 2) {
    uint64_t sp = x.gpr(RSP) - 2;
    x.store<uint16_t>(sp, uint16_t(v));
    x.cpu->gpr[RSP] = sp;
  } else {
    x.push64(v);
  }
}

// At CPL 3 popf changes only the flags user code owns; IF and IOPL stay (IOPL = 0 in user
// mode, so IF is silently kept). VM, VIP, VIF, RF are never set by popf.
void popf(Exec& x, const Insn& in) {
  unsigned size = in.opsize == 2 ? 2 : 8;
  uint64_t v = x.load_sized(x.gpr(RSP), size);
  x.cpu->gpr[RSP] += size;
  uint64_t user = flag::ARITH | flag::TF | flag::DF | flag::OF | flag::NT | flag::AC | flag::ID;
  if (size == 2) user &= 0xFFFF;
  x.cpu->rflags = (x.cpu->rflags & ~user) | (v & user) | flag::FIXED1;
}

}  // namespace

void register_stack(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_PUSH] = push;
  t[ZYDIS_MNEMONIC_POP] = pop;
  t[ZYDIS_MNEMONIC_LEAVE] = leave;
  t[ZYDIS_MNEMONIC_ENTER] = enter;
  t[ZYDIS_MNEMONIC_PUSHFQ] = pushf;
  t[ZYDIS_MNEMONIC_PUSHF] = pushf;
  t[ZYDIS_MNEMONIC_POPFQ] = popf;
  t[ZYDIS_MNEMONIC_POPF] = popf;
}

}  // namespace vireo
