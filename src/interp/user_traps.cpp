// EFLAGS.TF and EFLAGS.AC in user mode (issue 21, item 5). Both are rare, so the run loop
// only tests RFLAGS for them once per instruction and comes here when one is set.
#include "interp/user_traps.h"

#include <Zydis/Mnemonic.h>

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

}  // namespace

// Alignment checking (SDM Vol. 3, 6.15, #AC): at CPL 3 with CR0.AM (Linux sets it) and
// EFLAGS.AC, a data access of 2, 4 or 8 bytes that is not aligned to its size raises #AC(0)
// before the instruction changes anything. Checked here before the instruction runs: its
// explicit memory operands, and the stack slot of a push/pop/call/ret at the operand size.
void alignment_check(Exec& x, const Insn& in) {
  for (unsigned i = 0; i < in.nops; ++i) {
    const Operand& o = in.op[i];
    if (o.kind != OpKind::Mem || (o.size != 2 && o.size != 4 && o.size != 8)) continue;
    // A non-canonical address is #GP/#SS, which this host reports before #AC (the canonical
    // check belongs to the address calculation, alignment to the access): leave it to the
    // access itself.
    const uint64_t la = x.linear(in, o);
    if ((la & (o.size - 1)) && is_canonical(la)) x.raise(VEC_AC, 0, true);
  }
  if (implicit_stack_access(in.mnemonic)) {
    const unsigned size = in.opsize == 2 ? 2 : 8;
    if ((x.gpr(RSP) & (size - 1)) && is_canonical(x.gpr(RSP))) x.raise(VEC_AC, 0, true);
  }
}

// Single step (SDM Vol. 3, 17.3.1.4): a #DB trap after an instruction that began with TF set;
// DR6.BS, carried in FaultInfo::address, tells Linux's handler it was a step (TRAP_TRACE).
[[noreturn]] void single_step_trap(Exec& x) {
  x.insn_rip = x.cpu->rip;
  x.raise(VEC_DB, 0, false, 0x4000);
}

}  // namespace vireo
