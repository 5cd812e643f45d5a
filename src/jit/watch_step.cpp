// gdb watchpoints under the user-mode jit, by host page protection (jit/cache/watch_pages.h):
// what the engine does when an access meets a watched page.
//
// Translated code runs unchanged; an access to a protected page faults on the host, and the
// fault restores the guest state at the accessing instruction (as for any guest fault).
// step_watched then runs that one instruction in the interpreter, with the page's protection
// lifted and the interpreter's per-instruction watchpoint check (interp/debug_checks.cpp): a
// hit stops with StopReason::Debug after the instruction (as the hardware's data breakpoints
// do, SDM Vol. 3, 18.2.4), anything else goes on in translated code, the page protected again.
//
// Threads share the protection: while one thread's instruction runs with a page lifted,
// another thread's access to that page in that instant is not seen. The kernel side of a
// system call (a read() into a watched buffer, a signal frame) accesses guest memory on the
// host too: its watched pages are lifted until the thread runs guest code again; such
// accesses are not reported (nor are they under the interpreter: they are no instruction's).
#include <algorithm>

#include "jit/jit_engine.h"

namespace vireo::jit {

bool JitEngine::watched_fault(const CpuState& cpu) {
  return cpu.fault.vector == VEC_PF && shared_->watching() &&
         shared_->watch_fault(cpu.fault.address & ~uint64_t(4095), cpu.fault.is_write);
}

StopReason JitEngine::step_watched(CpuState& cpu) {
  ++stats_.watch_faults;
  std::vector<uint64_t> lifted = shared_->watch_lift(cpu.fault.address, 1);
  StopReason r = StopReason::None;
  // An instruction may reach a second watched page, or a page holding translated code (a
  // write: its code is dropped first, as in step_writer): each is let through in turn.
  for (int tries = 0; tries < 4; ++tries) {
    const uint64_t before = cpu.insn_count;
    interp_.set_instruction_limit(1);
    r = interp_.run(cpu);
    interp_.set_instruction_limit(0);
    tiering_.stats.interp_insns += cpu.insn_count - before;
    if (r != StopReason::Fault || cpu.fault.vector != VEC_PF) break;
    const uint64_t page = cpu.fault.address & ~uint64_t(4095);
    if (std::find(lifted.begin(), lifted.end(), page) == lifted.end() && watched_fault(cpu)) {
      for (uint64_t p : shared_->watch_lift(page, 1)) lifted.push_back(p);
      continue;
    }
    if (cpu.fault.is_write && handle_code_write(cpu.fault.address)) continue;
    break;
  }
  shared_->watch_lower(lifted);
  return r == StopReason::InstructionLimit ? StopReason::None : r;
}

void JitEngine::watch_kernel_access(uint64_t addr, uint64_t len) {
  if (len == 0 || !shared_->watching()) return;
  for (uint64_t page : shared_->watch_lift(addr, len)) kernel_lifted_.push_back(page);
}

// A new mapping has the guest's protection on the host: the watched pages in it get the
// watch's before any instruction can reach them (gdb may watch an address before it is mapped).
void JitEngine::mapped(uint64_t addr, uint64_t len) {
  if (len != 0 && shared_->watching()) shared_->watch_mapped(addr, len);
}

void JitEngine::prepare_guest_read(uint64_t addr, uint64_t len) { watch_kernel_access(addr, len); }

void JitEngine::settle_kernel_lifts() {
  shared_->watch_lower(kernel_lifted_);
  kernel_lifted_.clear();
}

}  // namespace vireo::jit
