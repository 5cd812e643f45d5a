#include "cpu/host_quirks.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/platform/x86.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csetjmp>
#include <cstdint>
#include <cstring>

#include "cpu/cpu_state.h"
#include "mem/host_fault.h"
#include "mem/host_fault_gp.h"

namespace vireo {

namespace {

// The host's flags after `bsf` of a non-zero source run with every arithmetic flag set. The
// stack pointer steps over the red zone first: the compiler may keep locals there, and pushfq
// writes below rsp.
[[gnu::noinline]] uint64_t host_flags_after_bsf() {
  uint64_t in = flag::CF | flag::PF | flag::AF | flag::ZF | flag::SF | flag::OF | 2;
  uint64_t src = 0x10, dst = 0, out;
  asm volatile(
      "lea -128(%%rsp), %%rsp\n\t"
      "pushfq\n\t"
      "push %[in]\n\t"
      "popfq\n\t"
      "bsf %[src], %[dst]\n\t"
      "pushfq\n\t"
      "pop %[out]\n\t"
      "popfq\n\t"
      "lea 128(%%rsp), %%rsp"
      : [out] "=&r"(out), [dst] "+r"(dst)
      : [in] "r"(in), [src] "r"(src)
      : "cc", "memory");
  return out;
}

// Runs `body` (host instructions on `window`'s memory) under a guest fault scope, as the
// engines' own accesses to guest memory are, and returns the fault it took, or nullptr if it
// ended normally. The kernel runs the fault's handler with a fresh FPU state, which siglongjmp
// keeps: MXCSR and the x87 control word are the caller's (callee-saved in the psABI; the jit
// keeps the guest's MXCSR in the host's), so they are put back.
template <class Body>
const HostFault* fault_of(const GuestMemory& window, Body body) {
  install_host_fault_handlers();
  static thread_local GuestFaultScope scope;  // (a HostFault is large: not on the stack)
  uint32_t mxcsr;
  uint16_t fcw;
  asm volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr), "=m"(fcw));
  if (sigsetjmp(scope.env, 0)) {
    deactivate_fault_scope(scope);
    asm volatile("ldmxcsr %0\n\tfldcw %1" : : "m"(mxcsr), "m"(fcw));
    return &scope.fault;
  }
  activate_fault_scope(scope, window);
  body();
  deactivate_fault_scope(scope);
  return nullptr;
}

// A host `repe cmpsb` of one byte with rSI at the first of two PROT_NONE pages and rDI at the
// second: the fault's address says which was read first. Through a guest fault scope whose
// window is the two pages, as the engines' own accesses to guest memory are.
bool probe_repe_cmpsb_source_first() {
  constexpr uint64_t kPage = 4096;
  void* p = mmap(nullptr, 2 * kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  GuestMemory window;
  window.base = static_cast<uint8_t*>(p);
  window.limit = 2 * kPage;
  const HostFault* fault = fault_of(window, [&] {
    uint8_t* src = window.base;
    uint8_t* dst = window.base + kPage;
    uint64_t count = 1;
    asm volatile("cld\n\trepe cmpsb" : "+S"(src), "+D"(dst), "+c"(count) : : "cc", "memory");
  });
  const bool source_first = fault && fault->guest_addr < kPage;
  munmap(p, 2 * kPage);
  return source_first;
}

// A host `sha1msg1 xmm, [misaligned]` under a fault scope that takes a #GP: true if it faults.
// MXCSR and the x87 control word are put back as in probe_repe_cmpsb_source_first.
bool probe_sha_checks_alignment() {
  if (!CPU_FEATURE_ACTIVE(SHA)) return true;  // (not measurable: the SDM's rule)
  install_host_fault_handlers();
  alignas(16) static uint8_t buf[32];
  GuestMemory window;
  window.base = buf;
  window.limit = sizeof buf;
  static thread_local GuestFaultScope scope;
  GuestFaultScope* const outer_gp_scope = set_gp_scope(&scope);
  uint32_t mxcsr;
  uint16_t fcw;
  asm volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr), "=m"(fcw));
  bool faults = false;
  if (sigsetjmp(scope.env, 0)) {
    deactivate_fault_scope(scope);
    asm volatile("ldmxcsr %0\n\tfldcw %1" : : "m"(mxcsr), "m"(fcw));
    faults = take_host_gp();
  } else {
    activate_fault_scope(scope, window);
    asm volatile("sha1msg1 1(%0), %%xmm0" : : "r"(buf) : "xmm0", "memory");
    deactivate_fault_scope(scope);
  }
  set_gp_scope(outer_gp_scope);
  return faults;
}

// A host `vpgatherdd xmm0, [base + xmm1*4], xmm2` whose element 2 (mask 0x80000001) reads the
// PROT_NONE second page, element 3 masked off with a non-zero mask (0x12345678): the mask the
// fault leaves, from the signal context, says which rule the host follows.
bool probe_gather_fault_normalizes_mask() {
  if (!CPU_FEATURE_ACTIVE(AVX2)) return false;  // (no gathers for the guest either)
  constexpr uint64_t kPage = 4096;
  void* p = mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  mprotect(static_cast<uint8_t*>(p) + kPage, kPage, PROT_NONE);
  GuestMemory window;
  window.base = static_cast<uint8_t*>(p);
  window.limit = 2 * kPage;
  alignas(16) static const uint32_t kIndex[4] = {0, 1, kPage / 4, 2};
  alignas(16) static const uint32_t kMask[4] = {0x80000000u, 0x7FFFFFFFu, 0x80000001u, 0x12345678u};
  const HostFault* fault = fault_of(window, [&] {
    asm volatile(
        "vmovdqa (%1), %%xmm1\n\t"
        "vmovdqa (%2), %%xmm2\n\t"
        "vpxor %%xmm0, %%xmm0, %%xmm0\n\t"
        "vpgatherdd %%xmm2, (%0,%%xmm1,4), %%xmm0"
        :
        : "r"(window.base), "r"(kIndex), "r"(kMask)
        : "xmm0", "xmm1", "xmm2", "memory");
  });
  bool normalizes = false;
  if (fault) {
    uint32_t mask[4];
    std::memcpy(mask, fault->host_xmm[2], sizeof mask);
    normalizes = mask[2] == 0xFFFFFFFFu && mask[3] == 0;
  }
  munmap(p, 2 * kPage);
  return normalizes;
}

// A host `vcvtps2ph [PROT_NONE page], xmm0, 0` of 1e-10 (inexact and tiny in binary16: PE, UE)
// with MXCSR's flags clear: the MXCSR saved at the fault says whether they were recorded.
bool probe_f16c_store_fault_keeps_mxcsr_flags() {
  if (!CPU_FEATURE_ACTIVE(F16C)) return false;  // (no F16C for the guest either)
  constexpr uint64_t kPage = 4096;
  void* p = mmap(nullptr, kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  install_host_fault_handlers();
  GuestMemory window;
  window.base = static_cast<uint8_t*>(p);
  window.limit = kPage;
  static thread_local GuestFaultScope scope;
  alignas(16) static const float kIn[4] = {1e-10f, 1e-10f, 1e-10f, 1e-10f};
  uint32_t mxcsr;
  uint16_t fcw;
  asm volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr), "=m"(fcw));
  const uint32_t quiet = (mxcsr & ~0x3Fu) | 0x1F80;  // flags clear, every exception masked
  bool keeps = false;
  if (sigsetjmp(scope.env, 0)) {
    deactivate_fault_scope(scope);
    keeps = (scope.fault.host_mxcsr & 0x3F) != 0;
  } else {
    activate_fault_scope(scope, window);
    asm volatile(
        "ldmxcsr %2\n\t"
        "vmovaps (%1), %%xmm0\n\t"
        "vcvtps2ph $0, %%xmm0, (%0)"
        :
        : "r"(window.base), "r"(kIn), "m"(quiet)
        : "xmm0", "memory");
    deactivate_fault_scope(scope);  // (not reached: the page is PROT_NONE)
  }
  asm volatile("ldmxcsr %0\n\tfldcw %1" : : "m"(mxcsr), "m"(fcw));
  munmap(p, kPage);
  return keeps;
}

// RFLAGS after `insn` (AT&T, operands %rax/%rcx/%rdx as the caller sets them) run from `in`.
#define VIREO_HOST_FLAGS_AFTER(insn, in, rax, rcx, rdx)                                        \
  [](uint64_t fl, uint64_t a, uint64_t c, uint64_t d) {                                        \
    asm volatile("lea -128(%%rsp), %%rsp\n\tpush %[fl]\n\tpopfq\n\t" insn                    \
                 "\n\tpushfq\n\tpop %[fl]\n\tlea 128(%%rsp), %%rsp"                            \
                 : [fl] "+r"(fl), "+a"(a), "+c"(c), "+d"(d) : : "cc", "memory");             \
    return fl;                                                                                 \
  }(in, rax, rcx, rdx)

HostFlagRules probe_flag_rules() {
  constexpr uint64_t all = flag::ARITH | 2, none = 2;
  HostFlagRules r;
  // shl $2 of 0x80000000: the first step overflows (1 -> 0 in the sign), the last does not.
  r.shift_of_from_first_step = VIREO_HOST_FLAGS_AFTER("shll $2, %%eax", none, 0x80000000u, 0, 0) & flag::OF;
  // rol $2 of 0x80000000 from OF set: the first step overflows, the last does not either way.
  r.rotate_imm_keeps_of = VIREO_HOST_FLAGS_AFTER("roll $2, %%eax", none | flag::OF, 0x40000000u, 0, 0) & flag::OF;
  r.shift_sets_af = VIREO_HOST_FLAGS_AFTER("shll $2, %%eax", none, 1, 0, 0) & flag::AF;
  // rcl $9 of 0x40 with CF clear and OF set: one more step would give OF = 0.
  r.rotate_carry_wrap_keeps_of = VIREO_HOST_FLAGS_AFTER("rclb $9, %%al", none | flag::OF, 0x40, 0, 0) & flag::OF;
  // 3 * 7 from all flags set: AMD keeps ZF.
  r.mul_sets_sf_pf = !(VIREO_HOST_FLAGS_AFTER("mull %%ecx", all, 3, 7, 0) & flag::ZF);
  // 21 / 7 from all flags set: AMD clears ZF.
  r.div_keeps_flags = VIREO_HOST_FLAGS_AFTER("divl %%ecx", all, 21, 7, 0) & flag::ZF;
  r.lzcnt_clears_of = !(VIREO_HOST_FLAGS_AFTER("lzcntl %%ecx, %%eax", all, 0, 1, 0) & flag::OF);
  return r;
}
#undef VIREO_HOST_FLAGS_AFTER

// A host `repne scasb` started with CF set whose first comparison (0x22 - 0x11) clears CF and
// whose second byte is on a PROT_NONE page: CF at the fault says whether the first
// comparison's flags were written. Through a guest fault scope, as above.
bool probe_rep_compare_fault_keeps_flags() {
  constexpr uint64_t kPage = 4096;
  void* p = mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  if (mprotect(static_cast<uint8_t*>(p) + kPage, kPage, PROT_NONE) != 0) {
    munmap(p, 2 * kPage);
    return false;
  }
  GuestMemory window;
  window.base = static_cast<uint8_t*>(p);
  window.limit = 2 * kPage;
  window.base[kPage - 1] = 0x11;
  const HostFault* fault = fault_of(window, [&] {
    uint8_t* dst = window.base + kPage - 1;
    uint64_t count = 2, in = flag::CF | 2;
    // (rsp steps over the red zone for the pushed flags; a fault returns through sigsetjmp,
    // which restores rsp)
    asm volatile(
        "lea -128(%%rsp), %%rsp\n\t"
        "push %[in]\n\t"
        "popfq\n\t"
        "repne scasb\n\t"
        "lea 128(%%rsp), %%rsp"
        : "+D"(dst), "+c"(count)
        : "a"(uint64_t(0x22)), [in] "r"(in)
        : "cc", "memory");
  });
  const bool keeps = fault && (fault->host_rflags & flag::CF);
  munmap(p, 2 * kPage);
  return keeps;
}

// A host `movsxd cx, dword ptr [p]` with p two bytes below a PROT_NONE page: no fault means
// it read two bytes. Through a guest fault scope, as above.
bool probe_movsxd16_reads_two_bytes() {
  constexpr uint64_t kPage = 4096;
  void* p = mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  if (mprotect(static_cast<uint8_t*>(p) + kPage, kPage, PROT_NONE) != 0) {
    munmap(p, 2 * kPage);
    return false;
  }
  GuestMemory window;
  window.base = static_cast<uint8_t*>(p);
  window.limit = 2 * kPage;
  const bool two = !fault_of(window, [&] {
    const uint8_t* at = window.base + kPage - 2;
    uint64_t out = 0;
    asm volatile(".byte 0x66, 0x63, 0x08" : "+c"(out) : "a"(at) : "memory");  // movsxd cx, [rax]
  });
  munmap(p, 2 * kPage);
  return two;
}

// Runs `body` in a forked child (only async-signal-safe calls there: the parent may have
// threads) and tells whether the child exited with status 0; a body that returns exits 2.
template <class Body>
bool child_exits_zero(Body body) {
  pid_t pid = fork();
  if (pid == 0) {
    body();
    _exit(2);
  }
  int status = 0;
  while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// In a probe's child: `handler` takes `sig` on an alternate stack (the probe moved rsp).
void catch_on_altstack(int sig, void (*handler)(int, siginfo_t*, void*)) {
  static uint8_t altstack[1 << 16];
  stack_t ss{};
  ss.ss_sp = altstack;
  ss.ss_size = sizeof altstack;
  sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigaction(sig, &sa, nullptr);
}

// The child's SIGSEGV: exit 0 for a #GP (si_code SI_KERNEL), 1 for a page fault.
void on_far_ret_fault(int, siginfo_t* si, void*) { _exit(si->si_code == SI_KERNEL ? 0 : 1); }

bool probe_far_ret_checks_cs_first() {
  constexpr uint64_t kPage = 4096;
  void* p = mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  bool cs_first = false;
  if (mprotect(static_cast<uint8_t*>(p) + kPage, kPage, PROT_NONE) == 0) {
    // RIP and CS in the page's last 16 bytes; SS:RSP would be on the next page.
    auto* sp = reinterpret_cast<uint64_t*>(static_cast<uint8_t*>(p) + kPage - 16);
    sp[0] = 0;
    sp[1] = 0x10;  // (RPL 0)
    cs_first = child_exits_zero([sp] {
      catch_on_altstack(SIGSEGV, on_far_ret_fault);
      asm volatile("mov %0, %%rsp\n\tlretq" : : "r"(sp) : "memory");
    });
  }
  munmap(p, 2 * kPage);
  return cs_first;
}

// The child's SIGILL: exit 1 (#UD). Caught rather than left to the default action, which
// would dump a core.
void on_prefetch_reg_ud(int) { _exit(1); }

bool probe_prefetch_reg_is_nop() {
  return child_exits_zero([] {
    struct sigaction sa {};
    sa.sa_handler = on_prefetch_reg_ud;
    sigaction(SIGILL, &sa, nullptr);
    asm volatile(".byte 0x0f, 0x0d, 0xc3" ::: "memory");  // 0F 0D /0 with a register operand (ebx)
    _exit(0);
  });
}

// The child's SIGSEGV after its call to a non-canonical target: exit 0 if the return address
// was written (a #GP, si_code SI_KERNEL, with the slot non-zero), else 1.
volatile uint64_t* call_probe_slot;
void on_call_nc_fault(int, siginfo_t* si, void*) {
  _exit(si->si_code == SI_KERNEL && *call_probe_slot != 0 ? 0 : 1);
}

bool probe_call_nc_writes_return_address() {
  constexpr uint64_t kPage = 4096;
  void* p = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  auto* top = static_cast<uint8_t*>(p) + kPage / 2;
  call_probe_slot = reinterpret_cast<volatile uint64_t*>(top - 8);
  *call_probe_slot = 0;
  const bool writes = child_exits_zero([top] {
    catch_on_altstack(SIGSEGV, on_call_nc_fault);
    asm volatile("mov %0, %%rsp\n\tcall *%1" : : "r"(top), "r"(0x8000000000001000ull) : "memory");
  });
  munmap(p, kPage);
  return writes;
}

// `f3 49 90` run with rax = 1, r8 = 2: swapped (xchg r8, rax) or not (pause).
[[gnu::noinline]] bool probe_pause_rex_b_is_xchg() {
  uint64_t a = 1, b = 2;
  asm volatile("xchg %0, %%rax\n\txchg %1, %%r8\n\t.byte 0xf3, 0x49, 0x90\n\t"
               "xchg %0, %%rax\n\txchg %1, %%r8"
               : "+r"(a), "+r"(b) : : "rax", "r8");
  return a == 2;
}

bool probe_maskmovdqu_checks_high_half_first() {
  constexpr uint64_t kPage = 4096;
  void* p = mmap(nullptr, kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  GuestMemory window;
  window.base = static_cast<uint8_t*>(p);
  window.limit = kPage;
  // An all-zero mask at the start of the PROT_NONE page: the fault names byte 0 or byte 8.
  const HostFault* fault = fault_of(window, [p] {
    asm volatile("pxor %%xmm0, %%xmm0\n\tmaskmovdqu %%xmm0, %%xmm0" : : "D"(p) : "xmm0", "memory");
  });
  const bool high_first = fault && fault->guest_addr == 8;
  munmap(p, kPage);
  return high_first;
}

bool probe_iret_checks_cs_first() {
  constexpr uint64_t kPage = 4096;
  void* p = mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  bool cs_first = false;
  if (mprotect(static_cast<uint8_t*>(p) + kPage, kPage, PROT_NONE) == 0) {
    // RIP, CS (null) and RFLAGS in the page's last 24 bytes; RSP and SS on the next page.
    auto* sp = reinterpret_cast<uint64_t*>(static_cast<uint8_t*>(p) + kPage - 24);
    sp[0] = 0;
    sp[1] = 0;
    sp[2] = 0x202;
    cs_first = child_exits_zero([sp] {
      catch_on_altstack(SIGSEGV, on_far_ret_fault);
      asm volatile("mov %0, %%rsp\n\tiretq" : : "r"(sp) : "memory");
    });
  }
  munmap(p, 2 * kPage);
  return cs_first;
}

// A host `movdqu` from an odd address with EFLAGS.AC set (Linux sets CR0.AM), in a forked child:
// exit status 0 if it ended normally, killed by SIGBUS if it raised #AC. No handler: Linux
// delivers a signal with AC still set (arch/x86/kernel/signal.c clears only DF, RF and TF),
// so a handler's own misaligned accesses would fault again; the child is made undumpable
// instead (no core file). The stack pointer steps over the red zone first (pushfq writes
// below rsp).
bool probe_unaligned_sse_moves_skip_ac() {
  alignas(16) static uint8_t buf[32];
  return child_exits_zero([] {
    prctl(PR_SET_DUMPABLE, 0);
    asm volatile(
        "lea -128(%%rsp), %%rsp\n\t"
        "pushfq\n\t"
        "orl $0x40000, (%%rsp)\n\t"
        "popfq\n\t"
        "movdqu (%0), %%xmm0\n\t"
        "pushfq\n\t"
        "andl $~0x40000, (%%rsp)\n\t"
        "popfq\n\t"
        "lea 128(%%rsp), %%rsp"
        :
        : "r"(buf + 1)
        : "xmm0", "cc", "memory");
    _exit(0);
  });
}

// The host's 28-byte fnstenv image after one x87 store to memory (a non-control instruction
// with a memory operand, no exception) from the 64-bit code segment.
HostX87PointerRules probe_x87_pointer_rules() {
  alignas(16) uint8_t env[28] = {};
  float out = 0;
  uint16_t fcw;
  asm volatile("fnstcw %0" : "=m"(fcw));
  asm volatile("fninit\n\tfld1\n\tfstps %0\n\tfnstenv %1\n\tfldcw %2"
               : "=m"(out), "=m"(env)
               : "m"(fcw)
               : "memory");
  uint32_t w16, fdp, w24;
  std::memcpy(&w16, env + 16, 4);  // FCS | FOP << 16
  std::memcpy(&fdp, env + 20, 4);
  std::memcpy(&w24, env + 24, 4);  // FDS
  HostX87PointerRules r;
  r.selectors_zero = (w16 & 0xFFFF) == 0;  // CS is never a null selector here
  r.data_on_exception_only = fdp != uint32_t(reinterpret_cast<uintptr_t>(&out));
  r.fop_on_exception_only = (w16 >> 16) == 0;  // fstps m32 (D9 /3) has a non-zero FOP
  return r;
}

}  // namespace

bool host_bit_scan_keeps_flags() {
  static const bool keeps = [] {
    constexpr uint64_t undefined = flag::CF | flag::OF | flag::SF | flag::AF;
    return (host_flags_after_bsf() & undefined) == undefined;
  }();
  return keeps;
}

bool host_repe_cmpsb_reads_source_first() {
  static const bool source_first = probe_repe_cmpsb_source_first();
  return source_first;
}

bool host_sha_checks_alignment() {
  static const bool checks = probe_sha_checks_alignment();
  return checks;
}

bool host_gather_fault_normalizes_mask() {
  static const bool normalizes = probe_gather_fault_normalizes_mask();
  return normalizes;
}

bool host_f16c_store_fault_keeps_mxcsr_flags() {
  static const bool keeps = probe_f16c_store_fault_keeps_mxcsr_flags();
  return keeps;
}

const HostFlagRules& host_flag_rules() {
  static const HostFlagRules rules = probe_flag_rules();
  return rules;
}

bool host_rep_compare_fault_keeps_flags() {
  static const bool keeps = probe_rep_compare_fault_keeps_flags();
  return keeps;
}

bool host_movsxd16_reads_two_bytes() {
  static const bool two = probe_movsxd16_reads_two_bytes();
  return two;
}

bool host_far_ret_checks_cs_first() {
  static const bool cs_first = probe_far_ret_checks_cs_first();
  return cs_first;
}

bool host_maskmovdqu_checks_high_half_first() {
  static const bool high_first = probe_maskmovdqu_checks_high_half_first();
  return high_first;
}

bool host_iret_checks_cs_first() {
  static const bool cs_first = probe_iret_checks_cs_first();
  return cs_first;
}

bool host_unaligned_sse_moves_skip_ac() {
  static const bool skip = probe_unaligned_sse_moves_skip_ac();
  return skip;
}

bool host_prefetch_reg_is_nop() {
  static const bool nop = probe_prefetch_reg_is_nop();
  return nop;
}

bool host_call_nc_writes_return_address() {
  static const bool writes = probe_call_nc_writes_return_address();
  return writes;
}

bool host_pause_rex_b_is_xchg() {
  static const bool xchg = probe_pause_rex_b_is_xchg();
  return xchg;
}

const HostX87PointerRules& host_x87_pointer_rules() {
  static const HostX87PointerRules rules = probe_x87_pointer_rules();
  return rules;
}

}  // namespace vireo
