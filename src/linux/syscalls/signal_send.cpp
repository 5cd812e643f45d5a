// Sending signals with a siginfo, and process fds: rt_sigqueueinfo, rt_tgsigqueueinfo,
// pidfd_open, pidfd_send_signal, pidfd_getfd, process_mrelease.
//
// Guest pids and tids are host pids and tids, and the guest's siginfo has the host layout, so
// these pass through with the siginfo copied in: a signal for our own process arrives at Vireo's
// host handler, which records it with that siginfo for the guest (signals.h). The exceptions are
// the signals Vireo keeps for itself on the host (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP): one
// queued to ourselves is made pending here, as kill() to ourselves does (syscalls/process.cpp).
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/signals.h"
#include "linux/threads.h"
#include "linux/syscalls/host_call.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

// A signal queued to our own process (tid 0) or to one of its threads that the host must not
// deliver to Vireo itself: made pending where kill/tgkill make it (syscalls/process.cpp), for
// the thread, or for the process when the calling thread blocks it. False: let the host send.
bool kept_for_self(Process& p, int sig, pid_t tid, GuestSiginfo& info) {
  if (sig <= 0 || sig > 64 || mirrored_on_host(sig) || sig == SIGKILL || sig == SIGSTOP) return false;
  info.signo = sig;
  if (p.sigactions[sig].handler == uint64_t(SIG_IGN)) return true;
  if (tid == ::gettid() || (tid == 0 && !(p.thread().sigmask & sigbit(sig)))) {
    add_pending(sig, info);
  } else if (tid == 0) {
    add_process_pending(sig, info);
    p.wake_threads_for(sig);
  } else if (!p.with_thread(tid, [&](GuestThread& t) { add_thread_pending(t, sig, info); })) {
    return false;  // not one of ours after all: the host answers (ESRCH)
  }
  return true;
}

int64_t sys_rt_sigqueueinfo(Process& p, const SyscallArgs& a) {
  GuestSiginfo info;
  if (!read_guest(p, a.a[2], info)) return -EFAULT;
  int sig = int(a.a[1]);
  // rt_sigqueueinfo(2): only to itself may a process send a si_code that poses as the kernel or
  // kill() (si_code >= 0, or SI_TKILL).
  if ((info.code >= 0 || info.code == SI_TKILL) && pid_t(a.a[0]) != ::getpid()) return -EPERM;
  if (pid_t(a.a[0]) == ::getpid() && kept_for_self(p, sig, 0, info)) return 0;
  return host_call(SYS_rt_sigqueueinfo, a.a[0], sig, hp(&info));
}

int64_t sys_rt_tgsigqueueinfo(Process& p, const SyscallArgs& a) {
  GuestSiginfo info;
  if (!read_guest(p, a.a[3], info)) return -EFAULT;
  int sig = int(a.a[2]);
  if ((info.code >= 0 || info.code == SI_TKILL) && pid_t(a.a[0]) != ::getpid()) return -EPERM;
  if (pid_t(a.a[0]) == ::getpid() && kept_for_self(p, sig, pid_t(a.a[1]), info)) return 0;
  return host_call(SYS_rt_tgsigqueueinfo, a.a[0], a.a[1], sig, hp(&info));
}

int64_t sys_pidfd_open(Process&, const SyscallArgs& a) {
  return host_call(SYS_pidfd_open, a.a[0], a.a[1]);
}
int64_t sys_pidfd_send_signal(Process& p, const SyscallArgs& a) {
  GuestSiginfo info;
  const void* infop = nullptr;
  if (a.a[2]) {
    if (!read_guest(p, a.a[2], info)) return -EFAULT;
    infop = &info;
  }
  return host_call(SYS_pidfd_send_signal, a.a[0], a.a[1], hp(infop), a.a[3]);
}
int64_t sys_pidfd_getfd(Process&, const SyscallArgs& a) {
  return host_call(SYS_pidfd_getfd, a.a[0], a.a[1], a.a[2]);
}

int64_t sys_process_mrelease(Process&, const SyscallArgs& a) {
  return host_call(SYS_process_mrelease, a.a[0], a.a[1]);
}

}  // namespace

void register_signal_send_syscalls(SyscallTable& t) {
  t[SYS_rt_sigqueueinfo] = {"rt_sigqueueinfo", sys_rt_sigqueueinfo, {Arg::Int, Arg::Sig, Arg::Ptr}};
  t[SYS_rt_tgsigqueueinfo] = {"rt_tgsigqueueinfo", sys_rt_tgsigqueueinfo, {Arg::Int, Arg::Int, Arg::Sig, Arg::Ptr}};
  t[SYS_pidfd_open] = {"pidfd_open", sys_pidfd_open, {Arg::Int, Arg::Hex}};
  t[SYS_pidfd_send_signal] = {"pidfd_send_signal", sys_pidfd_send_signal, {Arg::Fd, Arg::Sig, Arg::Ptr, Arg::Hex}};
  t[SYS_process_mrelease] = {"process_mrelease", sys_process_mrelease, {Arg::Fd, Arg::Hex}};
  t[SYS_pidfd_getfd] = {"pidfd_getfd", sys_pidfd_getfd, {Arg::Fd, Arg::Int, Arg::Hex}};
}

}  // namespace vireo
