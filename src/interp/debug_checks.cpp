// The interpreter's side of the debug interface (cpu/debug_target.h): a breakpoint is checked
// before an instruction runs, watchpoints and single-step after it. Only reached when a
// debugger has set controls (Interpreter::run tests one pointer per instruction otherwise).
//
// Watchpoints, as the hardware's data breakpoints (SDM Vol. 3, 18.2.4), fire after the
// accessing instruction: an explicit memory operand of the instruction that overlaps the
// watched range is an access (read or write); a watched value that changed under an
// instruction that accesses memory its operands do not name (string instructions, enter,
// iret...) is a write; the stack slot of a push, pop, call, ret or leave is named exactly. The value may also change under any instruction because
// another guest thread wrote it meanwhile: that is the other thread's hit, not this one's, so
// an instruction without implicit accesses never reports a change. (A system call's effect is
// not an instruction's and is not reported.)
#include <Zydis/Zydis.h>

#include <cstring>

#include "interp/interpreter.h"

namespace vireo {

namespace {

// Instructions that access memory beyond their visible operands (the stack, RSI/RDI, the
// descriptor tables of an interrupt return).
bool implicit_memory(uint16_t m) {
  switch (m) {
    case ZYDIS_MNEMONIC_PUSH: case ZYDIS_MNEMONIC_POP: case ZYDIS_MNEMONIC_PUSHF: case ZYDIS_MNEMONIC_PUSHFQ:
    case ZYDIS_MNEMONIC_PUSHFD: case ZYDIS_MNEMONIC_POPF: case ZYDIS_MNEMONIC_POPFQ: case ZYDIS_MNEMONIC_POPFD:
    case ZYDIS_MNEMONIC_CALL: case ZYDIS_MNEMONIC_RET: case ZYDIS_MNEMONIC_ENTER: case ZYDIS_MNEMONIC_LEAVE:
    case ZYDIS_MNEMONIC_IRET: case ZYDIS_MNEMONIC_IRETD: case ZYDIS_MNEMONIC_IRETQ: case ZYDIS_MNEMONIC_INT:
    case ZYDIS_MNEMONIC_INT3: case ZYDIS_MNEMONIC_INTO: case ZYDIS_MNEMONIC_INT1:
    case ZYDIS_MNEMONIC_MOVSB: case ZYDIS_MNEMONIC_MOVSW: case ZYDIS_MNEMONIC_MOVSD: case ZYDIS_MNEMONIC_MOVSQ:
    case ZYDIS_MNEMONIC_STOSB: case ZYDIS_MNEMONIC_STOSW: case ZYDIS_MNEMONIC_STOSD: case ZYDIS_MNEMONIC_STOSQ:
    case ZYDIS_MNEMONIC_LODSB: case ZYDIS_MNEMONIC_LODSW: case ZYDIS_MNEMONIC_LODSD: case ZYDIS_MNEMONIC_LODSQ:
    case ZYDIS_MNEMONIC_CMPSB: case ZYDIS_MNEMONIC_CMPSW: case ZYDIS_MNEMONIC_CMPSD: case ZYDIS_MNEMONIC_CMPSQ:
    case ZYDIS_MNEMONIC_SCASB: case ZYDIS_MNEMONIC_SCASW: case ZYDIS_MNEMONIC_SCASD: case ZYDIS_MNEMONIC_SCASQ:
    case ZYDIS_MNEMONIC_INSB: case ZYDIS_MNEMONIC_INSW: case ZYDIS_MNEMONIC_INSD:
    case ZYDIS_MNEMONIC_OUTSB: case ZYDIS_MNEMONIC_OUTSW: case ZYDIS_MNEMONIC_OUTSD:
    case ZYDIS_MNEMONIC_XLAT: case ZYDIS_MNEMONIC_MASKMOVQ: case ZYDIS_MNEMONIC_MASKMOVDQU:
      return true;
    default:
      return false;
  }
}

// The stack slot a push, pop, call, ret, pushf, popf or leave accesses, named as exactly as an
// explicit operand: another thread's write to a watched value while this instruction runs is
// then not taken for this one's (the jit's interpreter tier runs a thread's cold code with
// these checks while another thread writes the watched variable: gdb.run.jit.thread_watch).
bool stack_slot(const Insn& in, const CpuState& cpu, uint64_t& addr, uint32_t& len) {
  const uint64_t rsp = cpu.gpr[RSP];
  switch (in.mnemonic) {
    case ZYDIS_MNEMONIC_PUSH: case ZYDIS_MNEMONIC_PUSHF: case ZYDIS_MNEMONIC_PUSHFQ:
      len = in.opsize == 2 ? 2 : 8;
      addr = rsp - len;
      return true;
    case ZYDIS_MNEMONIC_CALL:
      len = 8;
      addr = rsp - 8;
      return true;
    case ZYDIS_MNEMONIC_POP: case ZYDIS_MNEMONIC_POPF: case ZYDIS_MNEMONIC_POPFQ:
      len = in.opsize == 2 ? 2 : 8;
      addr = rsp;
      return true;
    case ZYDIS_MNEMONIC_RET:
      len = 8;
      addr = rsp;
      return true;
    case ZYDIS_MNEMONIC_LEAVE:
      len = 8;
      addr = cpu.gpr[RBP];
      return true;
    default:
      return false;
  }
}

}  // namespace

bool Interpreter::set_debug(DebugControls* d, std::string*) {
  debug_ = d;
  watch_old_.clear();
  return true;
}

bool Interpreter::debug_breakpoint(CpuState& cpu) {
  if (!debug_->is_breakpoint(cpu.rip)) return false;
  debug_->event = DebugControls::Event::Breakpoint;
  return true;
}

void Interpreter::debug_before(const Insn& in) {
  watch_touched_.clear();
  if (debug_->watchpoints.empty()) return;
  watch_implicit_ = implicit_memory(in.mnemonic);
  uint64_t slot;
  uint32_t slot_len;
  if (in.addrsize == 8 && stack_slot(in, *x_.cpu, slot, slot_len)) {  // (64-bit mode: SS base 0)
    watch_implicit_ = false;
    watch_touched_.push_back({slot, slot_len});
  }
  // lea and the hint nops name memory without accessing it.
  if (in.mnemonic != ZYDIS_MNEMONIC_LEA && in.mnemonic != ZYDIS_MNEMONIC_NOP &&
      in.mnemonic != ZYDIS_MNEMONIC_PREFETCH && in.mnemonic != ZYDIS_MNEMONIC_PREFETCHW)
    for (unsigned i = 0; i < in.nops; ++i)
      if (in.op[i].kind == OpKind::Mem)
        watch_touched_.push_back({x_.linear(in, in.op[i]), in.op[i].size ? in.op[i].size : 1u});
  watch_old_.resize(debug_->watchpoints.size());
  for (size_t k = 0; k < debug_->watchpoints.size(); ++k) {
    const Watchpoint& w = debug_->watchpoints[k];
    watch_old_[k].assign(w.len, 0);
    if (!debug_->read_memory || !debug_->read_memory(w.addr, watch_old_[k].data(), w.len)) watch_old_[k].clear();
  }
}

bool Interpreter::debug_after() {
  for (size_t k = 0; k < debug_->watchpoints.size() && k < watch_old_.size(); ++k) {
    const Watchpoint& w = debug_->watchpoints[k];
    bool touched = false;
    for (auto [a, n] : watch_touched_) touched |= w.overlaps(a, n);
    bool changed = false;
    if (w.kind != WatchKind::Read && watch_implicit_ && !watch_old_[k].empty()) {
      std::vector<uint8_t> now(w.len);
      changed = debug_->read_memory(w.addr, now.data(), w.len) && now != watch_old_[k];
    }
    if (touched || changed) {
      debug_->event = DebugControls::Event::Watch;
      debug_->hit = w;
      return true;
    }
  }
  if (debug_->single_step) {
    debug_->event = DebugControls::Event::Step;
    return true;
  }
  return false;
}

}  // namespace vireo
