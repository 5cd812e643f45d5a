// The stack in every mode (SDM Vol. 1, 6.2 and Vol. 3, 3.4.5): the stack-pointer width is 64
// bits in 64-bit mode and otherwise SS.B (32) or 16; outside 64-bit mode SS's base applies.
// push/pop/pushf/popf/leave/enter/pusha/popa use the operand size, with popf's privilege rules
// (IF only at CPL <= IOPL, IOPL only at CPL 0).
#include <Zydis/Mnemonic.h>

#include "interp/system/system_mode.h"

namespace vireo {

unsigned stack_width(const CpuState& c) {
  if (in_64bit_mode(c)) return 8;
  return (c.seg[SEG_SS].attrib & seg_attr::DB) ? 4 : 2;
}

StackFrame::StackFrame(Exec& x_) : x(x_), sp(x_.cpu->gpr[RSP]), width(stack_width(*x_.cpu)) {}

void StackFrame::push(uint64_t v, unsigned size) {
  sp -= size;
  x.store_sized(x.seg_base(SEG_SS) + Exec::truncate(sp, width), size, v);
}

uint64_t StackFrame::pop(unsigned size) {
  uint64_t v = x.load_sized(x.seg_base(SEG_SS) + Exec::truncate(sp, width), size);
  sp += size;
  return v;
}

void StackFrame::commit() { x.set_gpr(RSP, width, sp); }

namespace {

void push(Exec& x, const Insn& in) {
  const Operand& s = in.op[0];
  unsigned size = in.opsize;
  uint64_t v = x.read_as(in, s, size);
  StackFrame f(x);
  f.push(v, size);
  f.commit();
}

void pop(Exec& x, const Insn& in) {
  const Operand& d = in.op[0];
  unsigned size = in.opsize;
  StackFrame f(x);
  uint64_t v = f.pop(size);
  if (d.kind == OpKind::Mem) {
    // pop [rsp+disp] addresses with the incremented rsp (SDM Vol. 2, POP); rsp itself only
    // changes once the store has succeeded.
    uint64_t old = x.cpu->gpr[RSP];
    f.commit();
    uint64_t la = x.linear(in, d);
    x.cpu->gpr[RSP] = old;
    x.store_sized(la, size, v);
    f.commit();
    return;
  }
  if (d.rclass == RegClass::Seg) {
    load_segment(x, d.reg, uint16_t(v));
    if (d.reg == SEG_SS) ss_loaded(x);
    f.commit();
    return;
  }
  f.commit();
  x.write(in, d, v);
}

void pushf(Exec& x, const Insn& in) {
  StackFrame f(x);
  f.push(x.cpu->rflags & ~(flag::RF | flag::VM), in.opsize);
  f.commit();
}

void popf(Exec& x, const Insn& in) {
  CpuState& c = *x.cpu;
  unsigned size = in.opsize;
  StackFrame f(x);
  uint64_t v = f.pop(size);
  f.commit();
  uint64_t mask = flag::ARITH | flag::TF | flag::DF | flag::NT | flag::AC | flag::ID;
  const unsigned cur = cpl(c);
  if (cur == 0) mask |= flag::IF | flag::IOPL;
  else if (cur <= iopl(c)) mask |= flag::IF;
  if (size == 2) mask &= 0xFFFF;
  bool was_enabled = c.rflags & flag::IF;
  // VIP and VIF are cleared, VM and RF are never set by popf (SDM Vol. 2, POPF).
  c.rflags = ((c.rflags & ~mask) | (v & mask) | flag::FIXED1) & ~(flag::RF | flag::VIP | flag::VIF);
  if (!was_enabled && (c.rflags & flag::IF)) x.sys->irq_check = 1;
}

void leave(Exec& x, const Insn& in) {
  CpuState& c = *x.cpu;
  unsigned size = in.opsize;
  StackFrame f(x);
  f.sp = c.gpr[RBP];
  uint64_t v = f.pop(size);
  f.commit();
  x.set_gpr(RBP, size, v);
}

void enter(Exec& x, const Insn& in) {
  CpuState& c = *x.cpu;
  unsigned size = in.opsize;
  uint16_t frame_size = uint16_t(in.op[0].disp);
  unsigned level = unsigned(in.op[1].disp) & 31;
  StackFrame f(x);
  f.push(c.gpr[RBP], size);
  uint64_t frame = f.sp;
  uint64_t bp = c.gpr[RBP];
  for (unsigned i = 1; i < level; ++i) {
    bp -= size;
    f.push(x.load_sized(x.seg_base(SEG_SS) + Exec::truncate(bp, f.width), size), size);
  }
  if (level > 0) f.push(frame, size);
  f.sp -= frame_size;
  f.commit();
  x.set_gpr(RBP, f.width, frame);
}

// pusha/pushad: EAX, ECX, EDX, EBX, the original ESP, EBP, ESI, EDI (not in 64-bit mode).
void pusha(Exec& x, const Insn& in) {
  if (in_64bit_mode(*x.cpu)) x.raise_ud();
  unsigned size = in.opsize;
  StackFrame f(x);
  uint64_t sp = x.cpu->gpr[RSP];
  for (unsigned r = RAX; r <= RDI; ++r) f.push(r == RSP ? sp : x.cpu->gpr[r], size);
  f.commit();
}

void popa(Exec& x, const Insn& in) {
  if (in_64bit_mode(*x.cpu)) x.raise_ud();
  unsigned size = in.opsize;
  StackFrame f(x);
  uint64_t v[8];
  for (int r = RDI; r >= int(RAX); --r) v[r] = f.pop(size);
  f.commit();
  for (unsigned r = RAX; r <= RDI; ++r)
    if (r != RSP) x.set_gpr(r, size, v[r]);  // the saved ESP is skipped
}

}  // namespace

void register_system_stack(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_PUSH] = push;
  t[ZYDIS_MNEMONIC_POP] = pop;
  t[ZYDIS_MNEMONIC_PUSHF] = pushf;
  t[ZYDIS_MNEMONIC_PUSHFD] = pushf;
  t[ZYDIS_MNEMONIC_PUSHFQ] = pushf;
  t[ZYDIS_MNEMONIC_POPF] = popf;
  t[ZYDIS_MNEMONIC_POPFD] = popf;
  t[ZYDIS_MNEMONIC_POPFQ] = popf;
  t[ZYDIS_MNEMONIC_LEAVE] = leave;
  t[ZYDIS_MNEMONIC_ENTER] = enter;
  t[ZYDIS_MNEMONIC_PUSHA] = pusha;
  t[ZYDIS_MNEMONIC_PUSHAD] = pusha;
  t[ZYDIS_MNEMONIC_POPA] = popa;
  t[ZYDIS_MNEMONIC_POPAD] = popa;
}

}  // namespace vireo
