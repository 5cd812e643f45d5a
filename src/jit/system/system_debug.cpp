// gdb under the system-mode jit (cpu/debug_target.h), as QEMU's TCG does it:
//  - breakpoints: blocks end before them (the frontend's BlockLimits), the dispatcher checks
//    cpu.rip at every block entry and never chains into one; a change of the set drops all
//    translations (a block translated earlier may run over a new breakpoint);
//  - single-step: the instruction runs in the system interpreter, which reports the step
//    (an instruction that raises an exception ends in its handler, and the step is reported
//    after the handler's first instruction, as under the interpreter engine);
//  - watchpoints: the JIT TLB slots of a watched page get no tag for the watched kind of
//    access (no write tag for a write watch, none at all for a read or access watch), so
//    translated code takes the slow path there and the interpreter runs the accessing
//    instruction with its per-instruction watchpoint check (interp/debug_checks.cpp).
//    Translated code runs at full speed on every other page.
#include <algorithm>

#include "jit/system/system_jit_engine.h"

namespace vireo::jit {

namespace {

bool same_watches(const std::vector<Watchpoint>& a, const std::vector<Watchpoint>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const Watchpoint& x, const Watchpoint& y) {
    return x.addr == y.addr && x.len == y.len && x.kind == y.kind;
  });
}

}  // namespace

bool SystemJitEngine::set_debug(DebugControls* d, std::string*) {
  debug_ = d;
  interp_.set_debug(d);
  std::vector<uint64_t> breakpoints = d ? d->breakpoints : std::vector<uint64_t>{};
  std::vector<Watchpoint> watches = d ? d->watchpoints : std::vector<Watchpoint>{};
  if (breakpoints != debug_breakpoints_) {
    flush_cache();
    clear_jump_caches();
    debug_breakpoints_ = std::move(breakpoints);
  }
  if (!same_watches(watches, debug_watches_)) {
    mmu_.tlb.jit_flush();  // (slots filled before may let translated code into a watched page)
    debug_watches_ = std::move(watches);
  }
  return true;
}

StopReason SystemJitEngine::debug_dispatch(CpuState& cpu, bool& handled) {
  if (debug_->is_breakpoint(cpu.rip)) {
    debug_->event = DebugControls::Event::Breakpoint;
    return StopReason::Debug;
  }
  if (!debug_->single_step) return StopReason::None;
  handled = true;
  return step_interpreter(cpu, false);
}

void SystemJitEngine::drop_watched_tags(uint64_t la) {
  const uint64_t page = la & ~uint64_t(4095);
  for (const Watchpoint& w : debug_->watchpoints) {
    if (!w.overlaps(page, 4096)) continue;
    for (bool user : {false, true}) {
      softmmu::JitTlbEntry& j = mmu_.tlb.jit_slot(la, user);
      j.write_tag = ~uint64_t(0);
      if (w.kind != WatchKind::Write) j.read_tag = ~uint64_t(0);
    }
  }
}

}  // namespace vireo::jit
