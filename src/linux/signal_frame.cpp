// Signal delivery to guest handlers: the Linux x86-64 rt_sigframe, built on the guest stack
// exactly as the kernel builds it (arch/x86/kernel/signal.c: get_sigframe, setup_rt_frame), and
// rt_sigreturn, which reads it back. Guest code looks inside the frame (siglongjmp reads
// nothing, but debuggers, unwinders and coroutine libraries read uc_mcontext and fpstate), so
// the layout is the ABI, not an implementation detail.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <vector>

#include "cpu/cpuid.h"
#include "cpu/decoder.h"
#include "gdb/user_target.h"
#include "interp/x87_native.h"
#include "interp/xsave.h"
#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/signals.h"
#include "linux/threads.h"
#include "support/diag_stream.h"


namespace vireo {

namespace {

// struct sigcontext (uapi asm/sigcontext.h, 64-bit).
struct SigContext {
  uint64_t r8, r9, r10, r11, r12, r13, r14, r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip;
  uint64_t eflags;
  uint16_t cs, gs, fs, ss;
  uint64_t err, trapno, oldmask, cr2;
  uint64_t fpstate;  // guest address of the fxsave image (and XSAVE area), or 0
  uint64_t reserved[8];
};
static_assert(sizeof(SigContext) == 256);

// struct ucontext (uapi asm-generic/ucontext.h) with the kernel's 8-byte sigset.
struct UContext {
  uint64_t flags, link;
  uint64_t ss_sp;
  int32_t ss_flags, pad;
  uint64_t ss_size;
  SigContext mc;
  uint64_t sigmask;
};
static_assert(sizeof(UContext) == 304);

// struct rt_sigframe (arch/x86/include/asm/sigframe.h): the handler's return address first.
struct RtSigframe {
  uint64_t pretcode;
  UContext uc;
  GuestSiginfo info;
};
static_assert(offsetof(RtSigframe, uc.mc) == 48 && offsetof(RtSigframe, info) == 312);
static_assert(sizeof(RtSigframe) == 440);

constexpr uint64_t kUcFpXstate = 0x1, kUcSigcontextSs = 0x2, kUcStrictRestoreSs = 0x4;
constexpr uint64_t kRedZone = 128;
constexpr unsigned kFxBytes = 512;

// With XSAVE the fpstate is an XSAVE area in standard form, marked so that rt_sigreturn can
// tell it from a bare fxsave image (arch/x86/include/uapi/asm/sigcontext.h, struct
// _fpx_sw_bytes in the fxsave image's software-reserved bytes 464..511, and FP_XSTATE_MAGIC2
// right after the area; arch/x86/kernel/fpu/signal.c, save_xstate_epilog and
// check_xstate_in_sigframe).
constexpr uint32_t kFpXstateMagic1 = 0x46505853, kFpXstateMagic2 = 0x46505845;
constexpr unsigned kSwBytesOff = 464, kMagic2Bytes = 4;
struct FpxSwBytes {
  uint32_t magic1, extended_size;
  uint64_t xfeatures;
  uint32_t xstate_size;
  uint32_t padding[7];
};
static_assert(sizeof(FpxSwBytes) == 48);

// The bytes the fpstate takes on the signal stack: the XSAVE area and MAGIC2, or the fxsave
// image (fpu__alloc_mathframe).
unsigned fpstate_bytes(const CpuState& cpu) {
  return cpu.xcr0 ? xsave_standard_size(cpu.xcr0) + kMagic2Bytes : kFxBytes;
}
// RFLAGS bits rt_sigreturn takes from the frame (the kernel's FIX_EFLAGS).
constexpr uint64_t kFixEflags = flag::ARITH | flag::TF | flag::DF | flag::NT | flag::AC | flag::RF;

// The guest's x86 registers in sigcontext order.
constexpr Gpr kCtxOrder[16] = {R8, R9, R10, R11, R12, R13, R14, R15,
                               RDI, RSI, RBP, RBX, RDX, RAX, RCX, RSP};

// The FPU/SSE state a handler starts with (Linux gives it the init state).
void reset_fpu(CpuState& cpu) {
  CpuState fresh;
  reset_user_state(fresh);
  cpu.x87 = fresh.x87;
  cpu.mxcsr = fresh.mxcsr;
  std::memset(static_cast<void*>(cpu.xmm), 0, sizeof cpu.xmm);
  std::memset(static_cast<void*>(cpu.ymm_hi), 0, sizeof cpu.ymm_hi);
}

// The fpstate image: XSAVE (every enabled component, XSTATE_BV with x87 and SSE always set
// so that a handler editing the legacy region sees its edits restored) plus the markers, or
// the bare fxsave image without XSAVE.
std::vector<uint8_t> fpstate_image(const CpuState& cpu) {
  std::vector<uint8_t> img(fpstate_bytes(cpu), 0);
  x87::write_fxsave_image(cpu, img.data(), true);
  if (!cpu.xcr0) return img;
  const unsigned size = xsave_standard_size(cpu.xcr0);
  xsave::save(cpu, img.data(), cpu.xcr0, xsave::Form::Standard, true);
  uint64_t bv;
  std::memcpy(&bv, img.data() + xstate::kLegacyBytes, 8);
  bv |= xstate::X87 | xstate::SSE;
  std::memcpy(img.data() + xstate::kLegacyBytes, &bv, 8);
  FpxSwBytes sw{kFpXstateMagic1, size + kMagic2Bytes, cpu.xcr0, size, {}};
  std::memcpy(img.data() + kSwBytesOff, &sw, sizeof sw);
  std::memcpy(img.data() + size, &kFpXstateMagic2, kMagic2Bytes);
  return img;
}

// rt_sigreturn's side (__fpu_restore_sig): an XSAVE area whose markers check out is restored
// with XRSTOR for the features it names (the others take their initial state); anything else
// is read as a bare fxsave image and the extended state is initialized. False: a bad image
// (unreadable, or state XRSTOR/FXRSTOR would refuse), which is SIGSEGV.
bool restore_fpstate(Process& p, CpuState& cpu, uint64_t fpstate) {
  uint8_t fx[kFxBytes];
  if (!copy_from_guest(p, fx, fpstate, sizeof fx)) return false;
  CpuState probe = cpu;
  FpxSwBytes sw;
  std::memcpy(&sw, fx + kSwBytesOff, sizeof sw);
  const unsigned user_size = cpu.xcr0 ? xsave_standard_size(cpu.xcr0) : 0;
  bool xs = cpu.xcr0 && sw.magic1 == kFpXstateMagic1 &&
            sw.xstate_size >= xstate::kLegacyBytes + xstate::kHeaderBytes && sw.xstate_size <= user_size &&
            sw.xstate_size <= sw.extended_size;
  uint32_t magic2 = 0;
  if (xs && !copy_from_guest(p, &magic2, fpstate + sw.xstate_size, sizeof magic2)) return false;
  xs = xs && magic2 == kFpXstateMagic2;
  if (xs) {
    const uint64_t rfbm = cpu.xcr0 & sw.xfeatures;
    std::vector<uint8_t> area(xsave_standard_size(cpu.xcr0), 0);
    if (!copy_from_guest(p, area.data(), fpstate, xsave_standard_size(rfbm))) return false;
    if (!xsave::restore(probe, area.data(), rfbm, true)) return false;
    xsave::init_components(probe, cpu.xcr0 & ~rfbm);
  } else {
    if (!x87::read_fxsave_image(probe, fx, true)) return false;
    xsave::init_components(probe, cpu.xcr0 & ~(xstate::X87 | xstate::SSE));
  }
  cpu.x87 = probe.x87;
  cpu.mxcsr = probe.mxcsr;
  std::memcpy(static_cast<void*>(cpu.xmm), probe.xmm, sizeof cpu.xmm);
  std::memcpy(static_cast<void*>(cpu.ymm_hi), probe.ymm_hi, sizeof cpu.ymm_hi);
  return true;
}

// Builds the frame for disposition `sa` (the caller's snapshot: another thread may change the
// live one meanwhile) and points the CPU at the handler. False if the frame cannot be written.
bool setup_frame(Process& p, int sig, const Process::SigAction& sa, const GuestSiginfo& info,
                 const FaultInfo* fault) {
  CpuState& cpu = p.cpu();
  uint64_t sp = cpu.gpr[RSP];
  const AltStack& alt = p.thread().altstack;
  sp -= kRedZone;
  if (uint64_t top = alt.top_for_handler(cpu.gpr[RSP]); (sa.flags & SA_ONSTACK) && top) sp = top;
  uint64_t fx = (sp - fpstate_bytes(cpu)) & ~uint64_t(63);
  uint64_t frame_addr = ((fx - sizeof(RtSigframe)) & ~uint64_t(15)) - 8;

  RtSigframe f{};
  f.pretcode = sa.restorer;
  f.uc.flags = kUcSigcontextSs | kUcStrictRestoreSs | (cpu.xcr0 ? kUcFpXstate : 0);
  // (Linux's __save_altstack: the flags as the guest gave them, not as sigaltstack reports them)
  f.uc.ss_sp = alt.sp;
  f.uc.ss_size = alt.size;
  f.uc.ss_flags = alt.flags;
  SigContext& mc = f.uc.mc;
  uint64_t* regs = &mc.r8;
  for (int i = 0; i < 16; ++i) regs[i] = cpu.gpr[kCtxOrder[i]];
  mc.rip = cpu.rip;
  mc.eflags = cpu.rflags;
  mc.cs = 0x33;
  mc.ss = 0x2b;
  GuestThread& t = p.thread();
  if (fault) {
    t.last_trapno = fault->vector;
    t.last_err = fault->error_code;
    if (fault->vector == VEC_PF) t.last_cr2 = fault->address;
  }
  mc.trapno = t.last_trapno;
  mc.err = t.last_err;
  mc.cr2 = t.last_cr2;
  uint64_t old_mask = p.thread().mask_saved ? p.thread().saved_mask : p.thread().sigmask;
  mc.oldmask = old_mask;
  mc.fpstate = fx;
  f.uc.sigmask = old_mask;
  f.info = info;

  std::vector<uint8_t> img = fpstate_image(cpu);
  if (!copy_to_guest(p, fx, img.data(), img.size()) || !copy_to_guest(p, frame_addr, &f, sizeof f))
    return false;

  // The frame is committed: the state the handler runs in.
  if (p.thread().altstack.flags & AltStack::kAutoDisarm) p.thread().altstack.reset();
  cpu.gpr[RDI] = uint64_t(sig);
  cpu.gpr[RSI] = frame_addr + offsetof(RtSigframe, info);
  cpu.gpr[RDX] = frame_addr + offsetof(RtSigframe, uc);
  cpu.gpr[RAX] = 0;
  cpu.gpr[RSP] = frame_addr;
  cpu.rip = sa.handler;
  cpu.rflags &= ~(flag::DF | flag::RF | flag::TF);
  reset_fpu(cpu);
  return true;
}

// Runs the guest's disposition for `sig`.
void dispatch(Process& p, int sig, const GuestSiginfo& info, const FaultInfo* fault) {
  Process::SigAction sa;
  {
    // One whole disposition, and SA_RESETHAND's reset with it (Linux: get_signal under siglock).
    std::lock_guard lock(p.sigactions_mu);
    sa = p.sigactions[sig];
    if (sa.handler != uint64_t(SIG_IGN) && sa.handler != uint64_t(SIG_DFL) && (sa.flags & SA_RESETHAND)) {
      p.sigactions[sig] = {};
      if (mirrored_on_host(sig)) ::signal(sig, SIG_DFL);
    }
  }
  if (sa.handler == uint64_t(SIG_IGN)) return;
  if (sa.handler == uint64_t(SIG_DFL)) {
    switch (default_action(sig)) {
      case DefaultAction::Ignore: case DefaultAction::Continue: return;
      case DefaultAction::Stop: ::kill(::getpid(), SIGSTOP); return;
      case DefaultAction::Terminate: die_by_signal(p, sig, fault ? fault->address : 0);
    }
  }
  if (!setup_frame(p, sig, sa, info, fault)) {
    // Linux: a frame that cannot be written is a SIGSEGV with the default action.
    die_by_signal(p, SIGSEGV, p.cpu().gpr[RSP]);
  }
  uint64_t mask = p.thread().sigmask | sa.mask;
  if (!(sa.flags & SA_NODEFER)) mask |= sigbit(sig);
  p.thread().mask_saved = false;
  set_guest_mask(p, mask);
}

}  // namespace

int fp_code(unsigned unmasked) {
  if (unmasked & 0x01) return FPE_FLTINV;
  if (unmasked & 0x04) return FPE_FLTDIV;
  if (unmasked & 0x08) return FPE_FLTOVF;
  if (unmasked & 0x12) return FPE_FLTUND;
  if (unmasked & 0x20) return FPE_FLTRES;
  return 0;
}

int next_signal(uint64_t ready) {
  constexpr uint64_t sync = sigbit(SIGSEGV) | sigbit(SIGBUS) | sigbit(SIGILL) | sigbit(SIGTRAP) |
                            sigbit(SIGFPE) | sigbit(SIGSYS);
  if (ready & sync) ready &= sync;
  return ready ? __builtin_ctzll(ready) + 1 : 0;
}

void deliver_pending(Process& p) {
  uint64_t ready = pending_signals() & ~p.thread().sigmask;
  if (!ready) return;
  int sig = next_signal(ready);
  GuestSiginfo info = take_pending(sig);
  if (p.debugger && !(sig = p.debugger->signal(p.thread(), sig, info))) return;  // (gdb suppressed it)
  dispatch(p, sig, info, nullptr);
  // More waiting: stop again right away, so the next frame nests on this one as on Linux.
  if (pending_signals() & ~p.thread().sigmask) p.cpu().exit_request = 1;
}

void deliver_fault(Process& p, int sig, const GuestSiginfo& info) {
  const FaultInfo& f = p.cpu().fault;
  const Process::SigAction& sa = p.sigactions[sig];
  bool handled = sa.handler != uint64_t(SIG_DFL) && sa.handler != uint64_t(SIG_IGN) &&
                 !(p.thread().sigmask & sigbit(sig));
  if (handled) {
    dispatch(p, sig, info, &f);
    return;
  }
  // Blocked or ignored synchronous faults are forced to the default action: death.
  if (sig == SIGILL) {
    // Show what the guest tried to execute.
    uint8_t bytes[15] = {};
    size_t n = 0;
    while (n < 15 && p.as().is_mapped(p.cpu().rip + n, 1)) {
      bytes[n] = *p.as().host(p.cpu().rip + n);
      ++n;
    }
    diag_print(stderr, "vireo: guest terminated by SIGILL at pc={:#x}: illegal instruction {} ({})\n",
               p.cpu().rip, hex_bytes(bytes, std::min<size_t>(n, 8)), disassemble(bytes, n, p.cpu().rip));
    die_by_signal(p, SIGILL, 0, false);
  }
  die_by_signal(p, sig, sig == SIGSEGV || sig == SIGBUS ? f.address : info.u64(0));
}

GuestSiginfo fault_siginfo(Process& p) {
  const CpuState& cpu = p.cpu();
  const FaultInfo& f = cpu.fault;
  GuestSiginfo si;
  switch (f.vector) {
    case VEC_PF:
      si.signo = SIGSEGV;
      si.code = !f.emulated && p.as().is_mapped(f.address, 1) ? SEGV_ACCERR : SEGV_MAPERR;
      si.set_u64(0, f.address);
      break;
    case VEC_UD: si.signo = SIGILL; si.code = ILL_ILLOPN; si.set_u64(0, cpu.rip); break;
    case VEC_DE: si.signo = SIGFPE; si.code = FPE_INTDIV; si.set_u64(0, cpu.rip); break;
    case VEC_MF:
      si.signo = SIGFPE;
      si.code = fp_code(x87::status_word(cpu.x87) & ~cpu.x87.fcw & 0x3F);
      si.set_u64(0, cpu.rip);
      break;
    case VEC_XM:
      si.signo = SIGFPE;
      si.code = fp_code(cpu.mxcsr & ~(cpu.mxcsr >> 7) & 0x3F);
      si.set_u64(0, cpu.rip);
      break;
    case VEC_BP: si.signo = SIGTRAP; si.code = SI_KERNEL; break;
    case VEC_DB:
      // A single step (DR6.BS in FaultInfo::address) or int1; Linux's get_si_code().
      si.signo = SIGTRAP;
      si.code = (f.address & 0x4000) ? TRAP_TRACE : TRAP_BRKPT;
      si.set_u64(0, cpu.rip);
      break;
    case VEC_AC: si.signo = SIGBUS; si.code = BUS_ADRALN; break;
    case VEC_SS: si.signo = SIGBUS; si.code = SI_KERNEL; break;  // Linux: "stack segment"
    default: si.signo = SIGSEGV; si.code = SI_KERNEL; break;  // #GP and friends: no address
  }
  return si;
}

int64_t signal_return(Process& p) {
  CpuState& cpu = p.cpu();
  uint64_t frame_addr = cpu.gpr[RSP] - 8;
  RtSigframe f;
  if (!copy_from_guest(p, &f, frame_addr, sizeof f)) die_by_signal(p, SIGSEGV, frame_addr);
  const SigContext& mc = f.uc.mc;
  if (mc.fpstate) {
    if (!restore_fpstate(p, cpu, mc.fpstate)) die_by_signal(p, SIGSEGV, mc.fpstate);
  } else {
    reset_fpu(cpu);  // Linux: no fpstate means the init state
  }
  const uint64_t* regs = &mc.r8;
  for (int i = 0; i < 16; ++i) cpu.gpr[kCtxOrder[i]] = regs[i];
  cpu.rip = mc.rip;
  cpu.rflags = (cpu.rflags & ~kFixEflags) | (mc.eflags & kFixEflags) | flag::FIXED1;

  // The alternate stack as the frame says (restore_altstack: a full sigaltstack whose errors,
  // EPERM while still on the stack among them, rt_sigreturn ignores).
  (void)p.thread().altstack.change(cpu.gpr[RSP], f.uc.ss_sp, f.uc.ss_flags, f.uc.ss_size);
  p.thread().mask_saved = false;
  set_guest_mask(p, f.uc.sigmask);
  return int64_t(cpu.gpr[RAX]);
}

}  // namespace vireo
