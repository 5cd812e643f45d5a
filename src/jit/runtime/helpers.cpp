#include "jit/runtime/helpers.h"

#include <sys/mman.h>
#include <xmmintrin.h>

#include <algorithm>
#include <csetjmp>
#include <csignal>
#include <cstring>

#include "cpu/decoder.h"
#include "cpu/host_quirks.h"
#include "interp/interpreter.h"
#include "interp/memory_fault.h"
#include "jit/backend/x64/emitter.h"
#include "jit/cache/translated_block.h"
#include "mem/address_space.h"
#include "mem/host_fault.h"

namespace vireo::jit {

namespace {
constexpr uint32_t kHostMxcsr = 0x1F80;

// Whether the instruction at pc is a near call (E8, or FF /2), after its prefixes.
bool is_near_call(const GuestMemory& mem, uint64_t pc) {
  for (unsigned i = 0; i < 15 && mem.contains(pc + i, 2); ++i) {
    const uint8_t b = *mem.host(pc + i);
    const bool prefix = b == 0x66 || b == 0x67 || b == 0xF2 || b == 0xF3 || b == 0xF0 ||
                        b == 0x2E || b == 0x36 || b == 0x3E || b == 0x26 || b == 0x64 ||
                        b == 0x65 || (b & 0xF0) == 0x40;
    if (prefix) continue;
    return b == 0xE8 || (b == 0xFF && ((*mem.host(pc + i + 1) >> 3) & 7) == 2);
  }
  return false;
}
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
  std::memcpy(f.host_ymm_hi, frame->ymm_hi, sizeof f.host_ymm_hi);
  siglongjmp(scope->env, 1);
}

uint32_t range_fault_helper(CpuState* cpu, uint64_t addr, uint64_t pc, uint64_t how) {
  bool write = how & 1;
  cpu->rip = pc;
  if ((how >> 8) == VEC_GP) {
    cpu->fault = {VEC_GP, true, 0, 0, false};
    // A near call to a non-canonical target faults on its push first when the stack cannot
    // take it (as the interpreter's control.cpp; the state here is the call's own).
    const GuestFaultScope* scope = current_fault_scope();
    if (scope && scope->mem && scope->mem->space && is_near_call(*scope->mem, pc)) {
      const uint64_t slot = cpu->gpr[RSP] - 8;
      if (!scope->mem->contains(slot, 8) || !scope->mem->space->is_mapped(slot, 8, PROT_WRITE)) {
        cpu->fault = memory_fault(*cpu, *scope->mem, slot, pf::W);
      } else if (host_call_nc_writes_return_address()) {
        // This host writes the return address before the #GP (rsp unchanged), as the
        // interpreter: the call's length from a decode (a rare path).
        static const Decoder decoder;
        Insn in;
        // (up to the end of its page unless the next one is readable: a call there did run)
        uint64_t avail = std::min<uint64_t>(15, 4096 - (pc & 4095));
        if (avail < 15 && scope->mem->contains(pc, 15) && scope->mem->space->is_mapped(pc + avail, 1, PROT_READ))
          avail = 15;
        if (decoder.decode(scope->mem->host(pc), avail, pc, in)) {
          const uint64_t ret = pc + in.len;
          std::memcpy(scope->mem->host(slot), &ret, 8);
        }
      }
    }
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
