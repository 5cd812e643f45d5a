// Signal system calls. Dispositions are recorded; delivery to guest handlers comes later.
#include <signal.h>
#include <sys/syscall.h>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

// The kernel's struct sigaction layout on x86-64 (not glibc's).
struct KernelSigaction {
  uint64_t handler, flags, restorer, mask;
};

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

}  // namespace

void register_signal_syscalls(SyscallTable& t) {
  t[SYS_rt_sigaction] = {"rt_sigaction", sys_rt_sigaction, {Arg::Int, Arg::Ptr, Arg::Ptr, Arg::Uint}};
  t[SYS_rt_sigprocmask] = {"rt_sigprocmask", sys_rt_sigprocmask, {Arg::Int, Arg::Ptr, Arg::Ptr, Arg::Uint}};
}

}  // namespace vireo
