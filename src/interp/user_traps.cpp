// EFLAGS.TF and EFLAGS.AC in user mode (issue 21, item 5). Both are rare, so the run loop
// only tests RFLAGS for them once per instruction and comes here when one is set.
#include "interp/user_traps.h"

#include <Zydis/Mnemonic.h>

#include "cpu/host_quirks.h"
#include "cpu/no_effect_mnemonics.h"
#include "interp/memory_fault.h"

namespace vireo {

namespace {

bool implicit_stack_access(uint16_t m) {
  switch (m) {
    case ZYDIS_MNEMONIC_PUSH: case ZYDIS_MNEMONIC_POP: case ZYDIS_MNEMONIC_CALL:
    case ZYDIS_MNEMONIC_RET: case ZYDIS_MNEMONIC_PUSHF: case ZYDIS_MNEMONIC_PUSHFQ:
    case ZYDIS_MNEMONIC_POPF: case ZYDIS_MNEMONIC_POPFQ: case ZYDIS_MNEMONIC_ENTER:
    case ZYDIS_MNEMONIC_IRETQ:
      return true;
    default: return false;
  }
}

// The implicit operands of a string instruction: which of DS:rSI (or its override) and
// ES:rDI it reads or writes. MOVSD and CMPSD with operands are the SSE forms.
struct StringOperands {
  bool src, dst;
};
bool string_operands(const Insn& in, StringOperands& s) {
  if (in.map != 0 || in.nops != 0) return false;
  switch (in.mnemonic) {
    case ZYDIS_MNEMONIC_MOVSB: case ZYDIS_MNEMONIC_MOVSW: case ZYDIS_MNEMONIC_MOVSD:
    case ZYDIS_MNEMONIC_MOVSQ: case ZYDIS_MNEMONIC_CMPSB: case ZYDIS_MNEMONIC_CMPSW:
    case ZYDIS_MNEMONIC_CMPSD: case ZYDIS_MNEMONIC_CMPSQ:
      s = {true, true};
      return true;
    case ZYDIS_MNEMONIC_LODSB: case ZYDIS_MNEMONIC_LODSW: case ZYDIS_MNEMONIC_LODSD:
    case ZYDIS_MNEMONIC_LODSQ:
      s = {true, false};
      return true;
    case ZYDIS_MNEMONIC_STOSB: case ZYDIS_MNEMONIC_STOSW: case ZYDIS_MNEMONIC_STOSD:
    case ZYDIS_MNEMONIC_STOSQ: case ZYDIS_MNEMONIC_SCASB: case ZYDIS_MNEMONIC_SCASW:
    case ZYDIS_MNEMONIC_SCASD: case ZYDIS_MNEMONIC_SCASQ:
      s = {false, true};
      return true;
    default: return false;
  }
}

// The alignment #AC requires of an explicit memory operand, measured on this host (tests/
// exactness alignment_check): 0 = none. The operand's size for 2, 4 and 8 bytes; the unaligned
// SSE moves check 16 bytes where the host does (host_unaligned_sse_moves_skip_ac); the x87 environment and state images 4 (their 32-bit layout's
// field size), an 80-bit real 8, fxsave/fxrstor 4 (then the 16-byte rule is their own #GP).
// Operands that are not accessed (lea, nops, prefetches, cache hints) and instructions that
// #GP at CPL 3 before touching memory (the system ones; sgdt & co. are emulated by Linux
// after that #GP) have none; nor do the SSE forms that require 16-byte alignment, whose #GP
// comes first (the instruction raises it).
unsigned required_alignment(const Insn& in, const Operand& o) {
  for (auto m : kNoEffectMnemonics)
    if (in.mnemonic == m) return 0;
  switch (in.mnemonic) {
    case ZYDIS_MNEMONIC_LEA: case ZYDIS_MNEMONIC_CLFLUSH: case ZYDIS_MNEMONIC_CLFLUSHOPT:
    case ZYDIS_MNEMONIC_CLWB: case ZYDIS_MNEMONIC_CLDEMOTE: case ZYDIS_MNEMONIC_LTR:
    case ZYDIS_MNEMONIC_LLDT: case ZYDIS_MNEMONIC_LGDT: case ZYDIS_MNEMONIC_LIDT:
    case ZYDIS_MNEMONIC_LMSW: case ZYDIS_MNEMONIC_INVLPG: case ZYDIS_MNEMONIC_SGDT:
    case ZYDIS_MNEMONIC_SIDT: case ZYDIS_MNEMONIC_SLDT: case ZYDIS_MNEMONIC_STR:
    case ZYDIS_MNEMONIC_SMSW: case ZYDIS_MNEMONIC_CMPXCHG16B:
    case ZYDIS_MNEMONIC_UD0: case ZYDIS_MNEMONIC_UD1:  // (#UD, whatever the operand)
      return 0;
    case ZYDIS_MNEMONIC_MOVUPS: case ZYDIS_MNEMONIC_MOVUPD: case ZYDIS_MNEMONIC_MOVDQU:
    case ZYDIS_MNEMONIC_LDDQU:
      // 128-bit SSE accesses are alignment-checked at the implementation's choice (SDM Vol. 3,
      // 6.15): hosts differ, so the host's answer.
      return host_unaligned_sse_moves_skip_ac() ? 0 : 16;
    case ZYDIS_MNEMONIC_FNSAVE: case ZYDIS_MNEMONIC_FRSTOR: case ZYDIS_MNEMONIC_FNSTENV:
    case ZYDIS_MNEMONIC_FLDENV: case ZYDIS_MNEMONIC_FXSAVE: case ZYDIS_MNEMONIC_FXSAVE64:
    case ZYDIS_MNEMONIC_FXRSTOR: case ZYDIS_MNEMONIC_FXRSTOR64:
      return 4;
    default: break;
  }
  if (o.size == 10) return 8;  // fld/fstp m80, fbld/fbstp
  return o.size == 2 || o.size == 4 || o.size == 8 ? o.size : 0;
}

}  // namespace

// Alignment checking (SDM Vol. 3, 6.15, #AC): at CPL 3 with CR0.AM (Linux sets it) and
// EFLAGS.AC, a data access of 2, 4 or 8 bytes that is not aligned to its size raises #AC(0)
// before the instruction changes anything. Checked here before the instruction runs: its
// explicit memory operands, and the stack slot of a push/pop/call/ret at the operand size.
void alignment_check(Exec& x, const Insn& in) {
  for (unsigned i = 0; i < in.nops; ++i) {
    const Operand& o = in.op[i];
    if (o.kind != OpKind::Mem) continue;
    const unsigned align = required_alignment(in, o);
    if (!align) continue;
    // A non-canonical address is #GP/#SS, which this host reports before #AC (the canonical
    // check belongs to the address calculation, alignment to the access): leave it to the
    // access itself.
    const uint64_t la = x.linear(in, o);
    if ((la & (align - 1)) && is_canonical(la)) x.raise(VEC_AC, 0, true);
  }
  // maskmovdqu stores to DS:rDI (its override) in 8-byte halves (#AC below 8-byte alignment).
  if (in.mnemonic == ZYDIS_MNEMONIC_MASKMOVDQU) {
    const uint64_t la =
        x.seg_base(string_source_segment(in)) + Exec::truncate(x.gpr(RDI), in.addrsize);
    if ((la & 7) && is_canonical(la)) x.raise(VEC_AC, 0, true);
  }
  if (implicit_stack_access(in.mnemonic)) {
    const unsigned size = in.opsize == 2 ? 2 : 8;
    if ((x.gpr(RSP) & (size - 1)) && is_canonical(x.gpr(RSP))) x.raise(VEC_AC, 0, true);
  }
  if (in.mnemonic == ZYDIS_MNEMONIC_LEAVE) {  // reads the saved frame pointer at rBP
    const unsigned size = in.opsize == 2 ? 2 : 8;
    if ((x.gpr(RBP) & (size - 1)) && is_canonical(x.gpr(RBP))) x.raise(VEC_AC, 0, true);
  }
  // String instructions: each element is at rSI/rDI, which advance by the element size, so
  // the first element's alignment is every element's. A rep with rCX = 0 touches nothing.
  StringOperands s;
  if (in.opsize > 1 && string_operands(in, s)) {
    const unsigned asz = in.addrsize;
    if ((in.prefixes & (pfx::REP | pfx::REPNE)) && Exec::truncate(x.gpr(RCX), asz) == 0) return;
    const uint64_t src = x.seg_base(string_source_segment(in)) + Exec::truncate(x.gpr(RSI), asz);
    const uint64_t dst = x.seg_base(SEG_ES) + Exec::truncate(x.gpr(RDI), asz);
    // Access by access, in the order the instruction makes them (cmps reads ES:rDI first,
    // as string.cpp's compare() says; movs reads before it writes): a non-canonical address
    // is that access's #GP, which comes before the next access's #AC (measured: cmpsq and
    // repne cmpsq with one operand misaligned and the other non-canonical).
    const bool cmps = s.src && s.dst && in.mnemonic != ZYDIS_MNEMONIC_MOVSB &&
                      in.mnemonic != ZYDIS_MNEMONIC_MOVSW && in.mnemonic != ZYDIS_MNEMONIC_MOVSD &&
                      in.mnemonic != ZYDIS_MNEMONIC_MOVSQ;
    uint64_t order[2];
    unsigned n = 0;
    if (s.src && !cmps) order[n++] = src;
    if (s.dst) order[n++] = dst;
    if (s.src && cmps) order[n++] = src;
    for (unsigned i = 0; i < n; ++i) {
      if (!is_canonical(order[i])) return;
      if (order[i] & (in.opsize - 1)) x.raise(VEC_AC, 0, true);
    }
  }
}

// Single step (SDM Vol. 3, 17.3.1.4): a #DB trap after an instruction that began with TF set;
// DR6.BS, carried in FaultInfo::address, tells Linux's handler it was a step (TRAP_TRACE).
[[noreturn]] void single_step_trap(Exec& x) {
  x.insn_rip = x.cpu->rip;
  x.raise(VEC_DB, 0, false, 0x4000);
}

}  // namespace vireo
