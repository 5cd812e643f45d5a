#include "jit/runtime/helpers.h"

#include <xmmintrin.h>

#include <csetjmp>
#include <csignal>
#include <cstring>

#include "interp/interpreter.h"
#include "interp/memory_fault.h"
#include "jit/backend/x64/emitter.h"
#include "jit/cache/translated_block.h"
#include "mem/host_fault.h"

namespace vireo::jit {

namespace {
constexpr uint32_t kHostMxcsr = 0x1F80;
}  // namespace

// The host MXCSR holds the guest's while translated code runs: hand it to the interpreter in
// CpuState.
uint32_t fallback_helper(CpuState* cpu, FallbackInsn* f) {
  ++*f->counter;
  settle_lazy_flags(*cpu);
  cpu->mxcsr = _mm_getcsr();
  _mm_setcsr(kHostMxcsr);
  cpu->rip = f->pc;
  StopReason r = f->interp->step_one(*cpu, f->insn);
  _mm_setcsr(cpu->mxcsr);
  switch (r) {
    // 0: continue in the block; unless a rep instruction yielded to an exit request: then rip
    // is back at the instruction, which must run again after the request is served.
    case StopReason::None: return cpu->exit_request && cpu->rip == f->pc ? kExitRequest : kExitDispatch;
    case StopReason::Fault: return kExitFault;
    case StopReason::Syscall: return kExitSyscall;
    default: return kExitStop + uint32_t(r);
  }
}

void range_fault_unwind(const RangeFaultFrame* frame, uint64_t addr, uint64_t write) {
  GuestFaultScope* scope = current_fault_scope();
  HostFault& f = scope->fault;
  f.guest_addr = addr;
  f.is_write = write != 0;
  f.error_code = write ? pf::W : 0;  // (not present)
  f.signo = SIGSEGV;
  f.host_pc = frame->regs[11];
  std::memcpy(f.host_regs, frame->regs, sizeof f.host_regs);
  f.host_rflags = 0;
  f.host_mxcsr = frame->mxcsr;
  std::memcpy(f.host_xmm, frame->xmm, sizeof f.host_xmm);
  siglongjmp(scope->env, 1);
}

uint32_t range_fault_helper(CpuState* cpu, uint64_t addr, uint64_t pc, uint64_t how) {
  bool write = how & 1;
  cpu->rip = pc;
  if ((how >> 8) == VEC_GP) {
    cpu->fault = {VEC_GP, true, 0, 0, false};
  } else {
    // Outside the guest window: not present, or not canonical (#GP/#SS); the interpreter's
    // rules decide (interp/memory_fault.h).
    const GuestFaultScope* scope = current_fault_scope();
    const GuestMemory none{};
    cpu->fault = memory_fault(*cpu, scope && scope->mem ? *scope->mem : none, addr, write ? pf::W : 0);
  }
  return kExitFault;
}

}  // namespace vireo::jit
