// Host faults on guest accesses.
//
// Engines access guest memory with plain host loads and stores. When one faults, the process
// SIGSEGV/SIGBUS handler checks that the faulting host address lies inside the guest window of
// the current thread's active GuestFaultScope; if so it records the fault and siglongjmps to
// that scope. Any other fault is a Vireo bug: the handler reports it and dies with the signal.
#pragma once

#include <csetjmp>
#include <cstddef>
#include <cstdint>

#include "mem/guest_memory.h"

namespace vireo {

struct HostFault {
  uint64_t guest_addr;  // faulting guest address
  bool is_write;
  uint32_t error_code;  // the host's page-fault error code (REG_ERR): P, W, U, ...
  int signo;            // SIGSEGV or SIGBUS
  uint64_t host_pc;     // host instruction that faulted (the JIT maps it to a guest pc)
  // Host general registers at the fault, in x86 encoding order (rax, rcx, rdx, rbx, rsp, rbp,
  // rsi, rdi, r8..r15): the JIT rebuilds guest registers it kept in host registers from them.
  uint64_t host_regs[16];
  uint64_t host_rflags;
  // MXCSR of the interrupted code. The kernel runs signal handlers with a fresh FPU state
  // and siglongjmp does not restore the saved one, so it must be taken from the context.
  uint32_t host_mxcsr;
  // Host XMM registers at the fault: the JIT keeps guest XMM registers in them within a block.
  alignas(16) uint8_t host_xmm[16][16];
  // Their YMM upper halves (zero when the context has no AVX state): a loop of VEX ops keeps
  // guest upper halves in them (jit/backend/x64/emit_avx.cpp).
  alignas(16) uint8_t host_ymm_hi[16][16];
};

struct GuestFaultScope {
  sigjmp_buf env;
  const GuestMemory* mem = nullptr;
  HostFault fault{};
  GuestFaultScope* prev = nullptr;
};

// Installs the process-wide handlers (idempotent).
void install_host_fault_handlers();

// The innermost active scope of this thread (nullptr if none).
GuestFaultScope*& current_fault_scope();

// Activates `scope` for the current thread until deactivate_fault_scope().
// Use with: if (sigsetjmp(scope.env, 0)) { ...fault... } (SA_NODEFER keeps SIGSEGV unblocked).
void activate_fault_scope(GuestFaultScope& scope, const GuestMemory& mem);
void deactivate_fault_scope(GuestFaultScope& scope);

// A plain copy between guest memory and the host under a guest fault scope: false when
// [guest, guest + len) is outside the window or an access faults (a page the guest may not
// read or write, a hole, a mapped file's page past its end). A write that faults part-way
// leaves the bytes before the faulting page written.
bool guarded_copy(const GuestMemory& mem, void* local, uint64_t guest, size_t len, bool to_guest);

}  // namespace vireo
