// Stack: push, pop, leave, enter, pushf, popf.
#include <Zydis/Mnemonic.h>

#include "interp/dispatch.h"
#include "interp/exec.h"

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
  x.cpu->gpr[RSP] = sp + size;
  if (d.rclass == RegClass::Seg) {
    x.cpu->seg[d.reg].selector = uint16_t(v);
    return;
  }
  x.write(in, d, v);
}

void leave(Exec& x, const Insn& in) {
  uint64_t bp = x.gpr(RBP);
  uint64_t v = x.load<uint64_t>(bp);
  x.cpu->gpr[RSP] = bp + 8;
  x.cpu->gpr[RBP] = v;
}

void enter(Exec& x, const Insn& in) {
  uint16_t size = uint16_t(in.op[0].disp);
  uint8_t level = uint8_t(in.op[1].disp) & 31;
  uint64_t sp = x.gpr(RSP) - 8;
  x.store<uint64_t>(sp, x.gpr(RBP));
  uint64_t frame = sp;
  uint64_t bp = x.gpr(RBP);
  for (unsigned i = 1; i < level; ++i) {
    bp -= 8;
    sp -= 8;
    x.store<uint64_t>(sp, x.load<uint64_t>(bp));
  }
  if (level > 0) {
    sp -= 8;
    x.store<uint64_t>(sp, frame);
  }
  x.cpu->gpr[RBP] = frame;
  x.cpu->gpr[RSP] = sp - size;
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
