// Signal system calls. Dispositions and the mask are recorded per guest; delivery to guest
// handlers comes later. For asynchronous signals the guest's SIG_IGN/SIG_DFL is mirrored onto
// the host process, so a guest that ignores SIGPIPE or SIGINT behaves natively (and passes the
// disposition on across execve, as the kernel does). SIGSEGV/SIGBUS belong to Vireo (guest
// memory faults); SIGILL/SIGFPE/SIGTRAP come from guest instructions, not the host, so they are
// only recorded.
#include <signal.h>
#include <sys/syscall.h>

#include <atomic>

// Linux uapi value; glibc does not export it.
#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/syscalls/host_result.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

// The kernel's struct sigaction layout on x86-64 (not glibc's).
struct KernelSigaction {
  uint64_t handler, flags, restorer, mask;
};

// Host signals that arrived for a guest handler, waiting for delivery support.
std::atomic<uint64_t> g_pending{0};

void note_pending(int sig) { g_pending.fetch_or(uint64_t(1) << (sig - 1)); }

bool mirrored_on_host(int sig) {
  switch (sig) {
    case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGTRAP: case SIGKILL: case SIGSTOP:
      return false;
    default: return sig >= 1 && sig <= 64 && sig != 32 && sig != 33;  // host glibc keeps 32, 33
  }
}

void mirror_disposition(int sig, const KernelSigaction& ka) {
  if (!mirrored_on_host(sig)) return;
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  if (ka.handler == uint64_t(SIG_IGN)) {
    sa.sa_handler = SIG_IGN;
  } else if (ka.handler == uint64_t(SIG_DFL)) {
    sa.sa_handler = SIG_DFL;
  } else {
    // A guest handler: keep the process alive and remember the signal; a blocking host call
    // is interrupted (EINTR) unless the guest asked for SA_RESTART.
    sa.sa_handler = note_pending;
    sa.sa_flags = int(ka.flags & SA_RESTART);
  }
  ::sigaction(sig, &sa, nullptr);
}

int64_t sys_rt_sigaction(Process& p, const SyscallArgs& a) {
  int sig = int(a.a[0]);
  if (sig < 1 || sig > 64 || a.a[3] != 8) return -EINVAL;
  KernelSigaction old{p.sigactions[sig].handler, p.sigactions[sig].flags,
                      p.sigactions[sig].restorer, p.sigactions[sig].mask};
  if (a.a[1]) {
    if (sig == SIGKILL || sig == SIGSTOP) return -EINVAL;
    KernelSigaction n;
    if (!read_guest(p, a.a[1], n)) return -EFAULT;
    p.sigactions[sig] = {n.handler, n.flags, n.restorer, n.mask};
    mirror_disposition(sig, n);
  }
  if (a.a[2] && !write_guest(p, a.a[2], old)) return -EFAULT;
  return 0;
}

int64_t sys_rt_sigprocmask(Process& p, const SyscallArgs& a) {
  if (a.a[3] != 8) return -EINVAL;
  uint64_t old = p.sigmask;
  if (a.a[1]) {
    uint64_t set;
    if (!read_guest(p, a.a[1], set)) return -EFAULT;
    set &= ~((uint64_t(1) << (SIGKILL - 1)) | (uint64_t(1) << (SIGSTOP - 1)));
    switch (a.a[0]) {
      case SIG_BLOCK: p.sigmask |= set; break;
      case SIG_UNBLOCK: p.sigmask &= ~set; break;
      case SIG_SETMASK: p.sigmask = set; break;
      default: return -EINVAL;
    }
  }
  if (a.a[2] && !write_guest(p, a.a[2], old)) return -EFAULT;
  return 0;
}

int64_t sys_rt_sigpending(Process& p, const SyscallArgs& a) {
  if (a.a[1] > 8) return -EINVAL;
  uint64_t pending = g_pending.load() & p.sigmask;
  return copy_to_guest(p, a.a[0], &pending, a.a[1]) ? 0 : -EFAULT;
}

// The guest's stack_t: {void* ss_sp; int ss_flags; size_t ss_size}.
struct GuestStack {
  uint64_t sp;
  int32_t flags, pad;
  uint64_t size;
};

int64_t sys_sigaltstack(Process& p, const SyscallArgs& a) {
  GuestStack old{p.altstack_sp, p.altstack_flags, 0, p.altstack_size};
  if (a.a[0]) {
    GuestStack n;
    if (!read_guest(p, a.a[0], n)) return -EFAULT;
    int mode = n.flags & ~SS_AUTODISARM;
    if (mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK) return -EINVAL;
    if (mode == SS_DISABLE) {
      p.altstack_sp = p.altstack_size = 0;
      p.altstack_flags = SS_DISABLE;
    } else {
      if (n.size < MINSIGSTKSZ) return -ENOMEM;
      p.altstack_sp = n.sp;
      p.altstack_size = n.size;
      p.altstack_flags = n.flags & SS_AUTODISARM;
    }
  }
  if (a.a[1] && !write_guest(p, a.a[1], old)) return -EFAULT;
  return 0;
}

// Waits with the guest's temporary mask; Vireo's own fault signals always stay deliverable.
int64_t sys_rt_sigsuspend(Process& p, const SyscallArgs& a) {
  if (a.a[1] != 8) return -EINVAL;
  uint64_t mask;
  if (!read_guest(p, a.a[0], mask)) return -EFAULT;
  mask &= ~((uint64_t(1) << (SIGSEGV - 1)) | (uint64_t(1) << (SIGBUS - 1)));
  return host_result(::syscall(SYS_rt_sigsuspend, &mask, 8L));
}

int64_t sys_pause(Process&, const SyscallArgs&) { return host_result(::pause()); }

}  // namespace

void register_signal_syscalls(SyscallTable& t) {
  t[SYS_rt_sigaction] = {"rt_sigaction", sys_rt_sigaction, {Arg::Sig, Arg::Ptr, Arg::Ptr, Arg::Uint}};
  t[SYS_rt_sigprocmask] = {"rt_sigprocmask", sys_rt_sigprocmask, {Arg::Int, Arg::Ptr, Arg::Ptr, Arg::Uint}};
  t[SYS_rt_sigpending] = {"rt_sigpending", sys_rt_sigpending, {Arg::Ptr, Arg::Uint}};
  t[SYS_rt_sigsuspend] = {"rt_sigsuspend", sys_rt_sigsuspend, {Arg::Ptr, Arg::Uint}};
  t[SYS_sigaltstack] = {"sigaltstack", sys_sigaltstack, {Arg::Ptr, Arg::Ptr}};
  t[SYS_pause] = {"pause", sys_pause, {}};
  // No handler yet: frames are only built once delivery to guest handlers exists.
  t[SYS_rt_sigreturn] = {"rt_sigreturn", nullptr, {}};
}

}  // namespace vireo
