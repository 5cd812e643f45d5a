#include "mem/host_fault.h"
#include "mem/host_fault_gp.h"

#include <cpuid.h>
#include <signal.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>

namespace vireo {

namespace {

thread_local GuestFaultScope* t_scope = nullptr;
thread_local GuestFaultScope* t_gp_scope = nullptr;  // (host_fault_gp.h)
thread_local bool t_took_gp = false;

// Where the signal frame's XSAVE area keeps the YMM upper halves: the standard format's AVX
// component (CPUID.(EAX=0DH,ECX=2):EBX, SDM Vol. 1, 13.4.3); 0 if the host has none. Asked at
// the first fault that needs it, not at start-up: CPUID traps to the hypervisor on the hosts
// Vireo runs on, and most processes never fault (CPUID is an instruction, safe in a handler).
std::atomic<uint32_t> g_ymm_hi_offset{~0u};

uint32_t ymm_hi_offset() {
  uint32_t off = g_ymm_hi_offset.load(std::memory_order_relaxed);
  if (off == ~0u) {
    uint32_t a, b, c, d;
    off = 0;
    if (__get_cpuid_count(0xD, 0, &a, &b, &c, &d) && (a & 4) && __get_cpuid_count(0xD, 2, &a, &b, &c, &d))
      off = b;
    g_ymm_hi_offset.store(off, std::memory_order_relaxed);
  }
  return off;
}

// The upper halves of host ymm0-15 from a signal context: behind the legacy 512 bytes, when
// the kernel says the frame is an XSAVE image (its software bytes' magic, Linux
// arch/x86/include/uapi/asm/sigcontext.h) and the AVX component is not in its initial state
// (XSTATE_BV bit 2; else all zero).
void ymm_upper_halves(const ucontext_t* uc, uint8_t (&out)[16][16]) {
  std::memset(out, 0, sizeof out);
  const auto* fp = reinterpret_cast<const uint8_t*>(uc->uc_mcontext.fpregs);
  if (!fp) return;
  const uint32_t off = ymm_hi_offset();
  if (!off) return;
  uint32_t magic, size;
  std::memcpy(&magic, fp + 464, 4);   // _fpx_sw_bytes.magic1
  std::memcpy(&size, fp + 464 + 4, 4);  // .extended_size
  constexpr uint32_t kMagic1 = 0x46505853;
  if (magic != kMagic1 || size < off + sizeof out) return;
  uint64_t xstate_bv;
  std::memcpy(&xstate_bv, fp + 512, 8);
  if (xstate_bv & 4) std::memcpy(out, fp + off, sizeof out);
}

void on_host_fault(int signo, siginfo_t* si, void* ctx) {
  GuestFaultScope* s = t_scope;
  auto addr = reinterpret_cast<uintptr_t>(si->si_addr);
  if (s && s->mem) {
    auto base = reinterpret_cast<uintptr_t>(s->mem->base);
    auto* uc = static_cast<ucontext_t*>(ctx);
    // A #GP reaches us as SIGSEGV, SI_KERNEL, address 0, trap number 13 (Linux
    // arch/x86/kernel/traps.c, exc_general_protection).
    const bool gp = signo == SIGSEGV && si->si_code == SI_KERNEL && uc->uc_mcontext.gregs[REG_TRAPNO] == 13;
    // (the window and its guards; below the window, addr - base wraps to the guest address
    // of an access that wrapped below 0)
    const uint64_t off = addr - base;
    const bool in_window = off < s->mem->limit + s->mem->guard || (s->mem->guard && off >= -s->mem->guard);
    if (gp ? s == t_gp_scope : in_window) {
      t_took_gp = gp;
      // Page-fault error code bit 1: the access was a write (SDM Vol. 3, 4.7).
      s->fault.error_code = uint32_t(uc->uc_mcontext.gregs[REG_ERR]);
      s->fault.is_write = (s->fault.error_code & 2) != 0;
      s->fault.guest_addr = gp ? 0 : off;
      s->fault.signo = signo;
      s->fault.host_pc = uint64_t(uc->uc_mcontext.gregs[REG_RIP]);
      static constexpr int kOrder[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                                         REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                                         REG_R12, REG_R13, REG_R14, REG_R15};
      for (int i = 0; i < 16; ++i) s->fault.host_regs[i] = uint64_t(uc->uc_mcontext.gregs[kOrder[i]]);
      s->fault.host_rflags = uint64_t(uc->uc_mcontext.gregs[REG_EFL]);
      s->fault.host_mxcsr = uc->uc_mcontext.fpregs ? uc->uc_mcontext.fpregs->mxcsr : 0x1F80;
      if (uc->uc_mcontext.fpregs) memcpy(s->fault.host_xmm, uc->uc_mcontext.fpregs->_xmm, sizeof s->fault.host_xmm);
      ymm_upper_halves(uc, s->fault.host_ymm_hi);
      siglongjmp(s->env, 1);
    }
  }
  // Not a guest access: an internal error. Say so in one line and die with the signal so that
  // a core dump (if enabled) points at the bug.
  char msg[160];
  int n = snprintf(msg, sizeof msg, "vireo: internal error: host %s at address %p\n",
                   signo == SIGBUS ? "SIGBUS" : "SIGSEGV", si->si_addr);
  if (n > 0) (void)!write(2, msg, size_t(n));
  signal(signo, SIG_DFL);
  raise(signo);
}

void install_handlers_once() {
  // An alternate stack lets us report even a host stack overflow.
  static char altstack[64 * 1024];
  stack_t ss{};
  ss.ss_sp = altstack;
  ss.ss_size = sizeof altstack;
  sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_sigaction = on_host_fault;
  // SA_NODEFER: we leave the handler by siglongjmp without restoring the mask (sigsetjmp with
  // savemask=0 is much cheaper), so the signal must not be blocked while it runs.
  sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, nullptr);
  sigaction(SIGBUS, &sa, nullptr);
}
}  // namespace

void install_host_fault_handlers() {
  // Once per process, from whichever thread asks first (each engine, and a guarded copy from
  // any guest thread): a function-local static's initialisation is the lock.
  static const bool installed = [] {
    install_handlers_once();
    return true;
  }();
  (void)installed;
}

GuestFaultScope*& current_fault_scope() { return t_scope; }

GuestFaultScope* set_gp_scope(GuestFaultScope* scope) {
  GuestFaultScope* prev = t_gp_scope;
  t_gp_scope = scope;
  return prev;
}

bool take_host_gp() {
  const bool gp = t_took_gp;
  t_took_gp = false;
  return gp;
}

void activate_fault_scope(GuestFaultScope& scope, const GuestMemory& mem) {
  scope.mem = &mem;
  scope.prev = t_scope;
  t_scope = &scope;
}

void deactivate_fault_scope(GuestFaultScope& scope) { t_scope = scope.prev; }

bool guarded_copy(const GuestMemory& mem, void* local, uint64_t guest, size_t len, bool to_guest) {
  if (len == 0) return true;
  if (!mem.base || !mem.contains(guest, len)) return false;
  install_host_fault_handlers();  // (the engines install them; a Process without one yet too)
  uint8_t* host = mem.host(guest);
  GuestFaultScope scope;
  activate_fault_scope(scope, mem);
  if (sigsetjmp(scope.env, 0)) {
    deactivate_fault_scope(scope);
    return false;
  }
  if (to_guest) std::memcpy(host, local, len);
  else std::memcpy(local, host, len);
  deactivate_fault_scope(scope);
  return true;
}

}  // namespace vireo
