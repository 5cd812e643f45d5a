// Signal system calls. Dispositions and the mask are recorded per guest and mirrored onto the
// host process (linux/signals.h explains the scheme): the guest's SIG_IGN/SIG_DFL become the
// host's, so a guest that ignores SIGPIPE or SIGINT behaves natively (and passes the
// disposition on across execve, as the kernel does); a guest handler becomes Vireo's recording
// handler; the blocked mask becomes the host mask. SIGSEGV/SIGBUS belong to Vireo (guest memory
// faults); SIGILL/SIGFPE/SIGTRAP come from guest instructions, not the host, so they are only
// recorded.
#include <signal.h>
#include <sys/syscall.h>

#include <unistd.h>

#include <mutex>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/signals.h"
#include "linux/threads.h"
#include "linux/syscalls/host_call.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

// The kernel's struct sigaction layout on x86-64 (not glibc's).
struct KernelSigaction {
  uint64_t handler, flags, restorer, mask;
};

void mirror_disposition(int sig, const KernelSigaction& ka) {
  if (!mirrored_on_host(sig)) return;
  if (ka.handler != uint64_t(SIG_IGN) && ka.handler != uint64_t(SIG_DFL)) {
    install_recording_handler(sig);
    return;
  }
  // Raw (glibc refuses 32 and 33); SIG_IGN and SIG_DFL need no restorer.
  KernelSigaction host{ka.handler, 0, 0, 0};
  ::syscall(SYS_rt_sigaction, sig, &host, nullptr, 8L);
}

}  // namespace

void remirror_disposition(Process& p, int sig) {
  std::lock_guard lock(p.sigactions_mu);
  const auto& g = p.sigactions[sig];
  mirror_disposition(sig, KernelSigaction{g.handler, g.flags, g.restorer, g.mask});
}

namespace {

int64_t sys_rt_sigaction(Process& p, const SyscallArgs& a) {
  int sig = int(a.a[0]);
  if (sig < 1 || sig > 64 || a.a[3] != 8) return -EINVAL;
  KernelSigaction n;
  if (a.a[1]) {
    if (sig == SIGKILL || sig == SIGSTOP) return -EINVAL;
    if (!read_guest(p, a.a[1], n)) return -EFAULT;  // (guest memory read before the lock)
  }
  std::unique_lock lock(p.sigactions_mu);  // (a sibling may be delivering `sig`: signal_frame.cpp)
  KernelSigaction old{p.sigactions[sig].handler, p.sigactions[sig].flags,
                      p.sigactions[sig].restorer, p.sigactions[sig].mask};
  if (a.a[1]) {
    p.sigactions[sig] = {n.handler, n.flags, n.restorer, n.mask};
    mirror_disposition(sig, n);
  }
  lock.unlock();
  if (a.a[2] && !write_guest(p, a.a[2], old)) return -EFAULT;
  return 0;
}

int64_t sys_rt_sigprocmask(Process& p, const SyscallArgs& a) {
  if (a.a[3] != 8) return -EINVAL;
  uint64_t old = p.thread().sigmask;
  if (a.a[1]) {
    uint64_t set;
    if (!read_guest(p, a.a[1], set)) return -EFAULT;
    uint64_t mask;
    switch (a.a[0]) {
      case SIG_BLOCK: mask = old | set; break;
      case SIG_UNBLOCK: mask = old & ~set; break;
      case SIG_SETMASK: mask = set; break;
      default: return -EINVAL;
    }
    // The old mask is written first: a signal unblocked here is delivered when the call returns.
    if (a.a[2] && !write_guest(p, a.a[2], old)) return -EFAULT;
    set_guest_mask(p, mask);
    return 0;
  }
  if (a.a[2] && !write_guest(p, a.a[2], old)) return -EFAULT;
  return 0;
}

int64_t sys_rt_sigpending(Process& p, const SyscallArgs& a) {
  if (a.a[1] > 8) return -EINVAL;
  uint64_t host_pending = 0;
  ::syscall(SYS_rt_sigpending, &host_pending, 8L);
  uint64_t pending = (host_pending | pending_signals()) & p.thread().sigmask;
  return copy_to_guest(p, a.a[0], &pending, a.a[1]) ? 0 : -EFAULT;
}

// The guest's stack_t: {void* ss_sp; int ss_flags; size_t ss_size}.
struct GuestStack {
  uint64_t sp;
  int32_t flags, pad;
  uint64_t size;
};

int64_t sys_sigaltstack(Process& p, const SyscallArgs& a) {
  const uint64_t sp = p.cpu().gpr[RSP];
  AltStack& alt = p.thread().altstack;
  GuestStack old{alt.sp, alt.reported_flags(sp), 0, alt.size};
  if (a.a[0]) {
    GuestStack n;
    if (!read_guest(p, a.a[0], n)) return -EFAULT;
    if (int err = alt.change(sp, n.sp, n.flags, n.size)) return err;
  }
  if (a.a[1] && !write_guest(p, a.a[1], old)) return -EFAULT;
  return 0;
}

// Waits with a temporary guest mask until a signal for a guest handler (or a fatal one)
// arrives. The host signals are blocked while we look at our own pending set, and the host
// sigsuspend unblocks them atomically, so a signal arriving in between is not lost. The
// signals Vireo holds itself come with a raised exit request, which the stub tests, and a
// wake-up signal the host never blocks (signals.h); a wake-up for a signal this thread does
// not take after all waits again. The temporary mask stays in force until the handler's frame
// is built; the frame saves the old one.
int64_t suspend_with(Process& p, uint64_t temp) {
  temp &= ~kUnblockable;
  uint64_t all = host_mask_for(~uint64_t(0)), prev;
  ::syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &prev, 8L);
  while (!(pending_signals() & ~temp)) {
    uint64_t wait_mask = host_mask_for(temp);
    if (blocking_call(SYS_rt_sigsuspend, hp(&wait_mask), 8) == kRestartSys) {
      // (the exit request was up: the run loop serves it, then the guest waits again)
      ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &prev, nullptr, 8L);
      return kRestartSys;
    }
  }
  p.thread().saved_mask = p.thread().sigmask;
  p.thread().mask_saved = true;
  set_guest_mask(p, temp);
  return -EINTR;
}

int64_t sys_rt_sigsuspend(Process& p, const SyscallArgs& a) {
  if (a.a[1] != 8) return -EINVAL;
  uint64_t mask;
  if (!read_guest(p, a.a[0], mask)) return -EFAULT;
  return suspend_with(p, mask);
}

int64_t sys_pause(Process& p, const SyscallArgs&) { return suspend_with(p, p.thread().sigmask); }

// sigtimedwait/sigwaitinfo: a signal Vireo holds itself is taken from our pending set; the rest
// wait in the host kernel, where the mirrored mask keeps them pending.
int64_t sys_rt_sigtimedwait(Process& p, const SyscallArgs& a) {
  if (a.a[3] != 8) return -EINVAL;
  uint64_t set;
  if (!read_guest(p, a.a[0], set)) return -EFAULT;
  set &= ~kUnblockable;
  if (uint64_t mine = pending_signals() & set) {
    int sig = next_signal(mine);
    GuestSiginfo info = take_pending(sig);
    if (a.a[1] && !write_guest(p, a.a[1], info)) return -EFAULT;
    return sig;
  }
  uint64_t host_set = host_mask_for(set);
  return blocking_call(SYS_rt_sigtimedwait, hp(&host_set), hp(host_opt(p, a.a[1], 128)),
                       hp(host_opt(p, a.a[2], 16)), 8);
}

int64_t sys_rt_sigreturn(Process& p, const SyscallArgs&) { return signal_return(p); }
}  // namespace

void register_signal_syscalls(SyscallTable& t) {
  t[SYS_rt_sigaction] = {"rt_sigaction", sys_rt_sigaction, {Arg::Sig, Arg::Ptr, Arg::Ptr, Arg::Uint}};
  t[SYS_rt_sigprocmask] = {"rt_sigprocmask", sys_rt_sigprocmask, {Arg::Int, Arg::Ptr, Arg::Ptr, Arg::Uint}};
  t[SYS_rt_sigpending] = {"rt_sigpending", sys_rt_sigpending, {Arg::Ptr, Arg::Uint}};
  t[SYS_rt_sigsuspend] = {"rt_sigsuspend", sys_rt_sigsuspend, {Arg::Ptr, Arg::Uint}};
  t[SYS_sigaltstack] = {"sigaltstack", sys_sigaltstack, {Arg::Ptr, Arg::Ptr}};
  t[SYS_pause] = {"pause", sys_pause, {}};
  t[SYS_rt_sigtimedwait] = {"rt_sigtimedwait", sys_rt_sigtimedwait, {Arg::Ptr, Arg::Ptr, Arg::Ptr, Arg::Uint}};
  t[SYS_rt_sigreturn] = {"rt_sigreturn", sys_rt_sigreturn, {}, Arg::Hex};
}

}  // namespace vireo
