// Process system calls: exit, ids and sessions, thread-area setup, fork/vfork/clone, wait,
// kill. A forked guest is a forked Vireo: host fork() duplicates the emulator together with the
// guest's memory and CPU state, and both sides go on emulating.
#include <asm/prctl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/signals.h"
#include "linux/threads.h"
#include "linux/syscalls/host_call.h"
#include "linux/syscalls/syscall_table.h"
#include "support/diag_stream.h"

namespace vireo {

namespace {

int64_t host_syscall(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
  return host_result(::syscall(nr, a, b, c, d, e));
}
long L(const void* p) { return long(reinterpret_cast<uintptr_t>(p)); }

template <long NR>
int64_t sys_plain(Process&, const SyscallArgs& a) {
  return host_syscall(NR, long(a.a[0]), long(a.a[1]), long(a.a[2]), long(a.a[3]), long(a.a[4]));
}

int64_t sys_exit(Process& p, const SyscallArgs& a) {
  p.exit_thread(int(a.a[0] & 0xFF));
  return 0;
}

int64_t sys_exit_group(Process& p, const SyscallArgs& a) {
  p.exit_group(int(a.a[0] & 0xFF));
  return 0;
}

int64_t sys_set_tid_address(Process& p, const SyscallArgs& a) {
  p.thread().clear_child_tid = a.a[0];
  return ::gettid();
}

// The robust list holds guest pointers: Vireo keeps the head and walks the list itself when
// the thread dies (threads.cpp), as the kernel would. sizeof(struct robust_list_head) = 24.
int64_t sys_set_robust_list(Process& p, const SyscallArgs& a) {
  if (a.a[1] != 24) return -EINVAL;
  p.thread().robust_list = a.a[0];
  return 0;
}

int64_t sys_get_robust_list(Process& p, const SyscallArgs& a) {
  pid_t tid = pid_t(a.a[0]);
  uint64_t head = 0;
  if (tid == 0 || tid == p.thread().tid) head = p.thread().robust_list;
  else if (!p.with_thread(tid, [&](GuestThread& t) { head = t.robust_list; })) return -ESRCH;
  uint64_t len = 24;
  if (!write_guest(p, a.a[1], head) || !write_guest(p, a.a[2], len)) return -EFAULT;
  return 0;
}

// rseq answers -ENOSYS deliberately and silently, as a kernel built without it would: glibc
// probes it in every thread's start and goes on without, so a warning would only be noise.
int64_t sys_quiet_enosys(Process&, const SyscallArgs&) { return -ENOSYS; }

int64_t sys_arch_prctl(Process& p, const SyscallArgs& a) {
  switch (a.a[0]) {
    case ARCH_SET_FS:
      if (a.a[1] >= (uint64_t(1) << 47)) return -EPERM;
      fs_base(p.cpu()) = a.a[1];
      return 0;
    case ARCH_SET_GS:
      if (a.a[1] >= (uint64_t(1) << 47)) return -EPERM;
      gs_base(p.cpu()) = a.a[1];
      return 0;
    case ARCH_GET_FS: {
      uint64_t v = fs_base(p.cpu());
      return write_guest(p, a.a[1], v) ? 0 : -EFAULT;
    }
    case ARCH_GET_GS: {
      uint64_t v = gs_base(p.cpu());
      return write_guest(p, a.a[1], v) ? 0 : -EFAULT;
    }
    default: return -EINVAL;
  }
}

int64_t sys_getgroups(Process& p, const SyscallArgs& a) {
  int n = int(a.a[0]);
  if (n < 0) return -EINVAL;
  return host_syscall(SYS_getgroups, n, L(n ? host_arg(p, a.a[1], size_t(n) * 4) : nullptr));
}

template <long NR>
int64_t sys_getres_ids(Process& p, const SyscallArgs& a) {
  return host_syscall(NR, L(host_arg(p, a.a[0], 4)), L(host_arg(p, a.a[1], 4)),
                      L(host_arg(p, a.a[2], 4)));
}

int64_t sys_prctl(Process& p, const SyscallArgs& a) {
  switch (int(a.a[0])) {
    case PR_SET_NAME: case PR_GET_NAME:
      return host_syscall(SYS_prctl, long(a.a[0]), L(host_arg(p, a.a[1], 16)));
    case PR_GET_DUMPABLE: case PR_SET_DUMPABLE: case PR_SET_PDEATHSIG: case PR_SET_NO_NEW_PRIVS:
    case PR_GET_NO_NEW_PRIVS: case PR_GET_KEEPCAPS: case PR_SET_KEEPCAPS:
    case PR_SET_CHILD_SUBREAPER: case PR_SET_TIMERSLACK: case PR_GET_TIMERSLACK:
    case PR_CAPBSET_READ: case PR_SET_THP_DISABLE: case PR_GET_THP_DISABLE:
      return host_syscall(SYS_prctl, long(a.a[0]), long(a.a[1]), long(a.a[2]), long(a.a[3]),
                          long(a.a[4]));
    case PR_GET_PDEATHSIG: case PR_GET_CHILD_SUBREAPER:  // they store an int at arg2
      return host_syscall(SYS_prctl, long(a.a[0]), L(host_arg(p, a.a[1], 4)));
    default: return -EINVAL;
  }
}

// ---- fork, vfork, clone ----

// Host fork, keeping vfork's ordering when asked: the parent is held until the child execs
// or exits, which the child signals by the close-on-exec pipe end it holds going away.
int64_t fork_guest(Process& p, int exit_signal, bool hold_parent) {
  int hold[2] = {-1, -1};
  if (hold_parent && ::pipe2(hold, O_CLOEXEC) == 0) {
    // Keep our pipe out of the low fd numbers the guest manages itself.
    for (int& fd : hold) {
      int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 900);
      if (high >= 0) {
        ::close(fd);
        fd = high;
      }
    }
  }
  p.before_fork();  // Vireo's own locks, so that the child finds them free
  pid_t pid = exit_signal == SIGCHLD ? ::fork()
                                     : pid_t(::syscall(SYS_clone, long(exit_signal & CSIGNAL), 0L, 0L, 0L, 0L));
  int e = errno;
  p.after_fork(pid == 0);
  if (pid < 0) {
    if (hold[0] >= 0) ::close(hold[0]), ::close(hold[1]);
    return -e;
  }
  if (pid == 0) {
    clear_pending();  // a child starts with no pending signals
    if (hold[0] >= 0) ::close(hold[0]);  // hold[1] stays open until exec or exit
    return 0;
  }
  // The parent's engine: its memory is shared with the child from now on (cpu/engine.h). (The
  // forking thread's only: another thread's engine is that thread's to touch.)
  if (GuestThread* me = current_thread(); me && me->engine) me->engine->fork_parent();
  if (hold[0] >= 0) {
    ::close(hold[1]);
    char c;
    while (::read(hold[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::close(hold[0]);
  }
  return pid;
}

int64_t sys_fork(Process& p, const SyscallArgs&) { return fork_guest(p, SIGCHLD, false); }
int64_t sys_vfork(Process& p, const SyscallArgs&) { return fork_guest(p, SIGCHLD, true); }

// clone and clone3 share this: a thread (CLONE_THREAD) or a process (a host fork).
int64_t do_clone(Process& p, const CloneRequest& req, uint64_t exit_signal) {
  const uint64_t flags = req.flags;
  // Linux copy_process: the combinations it refuses.
  if ((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND)) return -EINVAL;
  if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM)) return -EINVAL;
  if ((flags & (CLONE_NEWNS | CLONE_FS)) == (CLONE_NEWNS | CLONE_FS)) return -EINVAL;
  const uint64_t supported = CLONE_VM | CLONE_VFORK | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
                             CLONE_THREAD | CLONE_SYSVSEM | CLONE_PARENT_SETTID |
                             CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_SETTLS | CLONE_DETACHED;
  if (flags & ~supported) return -EINVAL;
  if (flags & CLONE_THREAD) {
    // A thread shares memory, files, fs and dispositions: what a host thread of Vireo shares.
    if (!(flags & CLONE_FILES) || !(flags & CLONE_FS)) {
      diag_print(stderr, "vireo: clone of a thread without CLONE_FILES|CLONE_FS is not supported, returning -EINVAL\n");
      return -EINVAL;
    }
    return p.clone_thread(req);
  }
  // CLONE_VM shares memory with the parent: a thread, or a child the parent waits for until
  // it execs or exits (CLONE_VFORK, as posix_spawn does). Other sharing cannot be had.
  if ((flags & CLONE_VM) && !(flags & CLONE_VFORK)) {
    diag_print(stderr, "vireo: clone with CLONE_VM but without CLONE_VFORK or CLONE_THREAD is not supported, returning -ENOSYS\n");
    return -ENOSYS;
  }
  const bool shared_vm = flags & CLONE_VM;
  int64_t pid = shared_vm ? p.clone_vfork(req, int(exit_signal)) : fork_guest(p, int(exit_signal), flags & CLONE_VFORK);
  if (pid < 0) return pid;
  if (flags & CLONE_PARENT_SETTID) {
    int32_t v = int32_t(pid ? pid : ::getpid());
    write_guest(p, req.parent_tid, v);
  }
  if (pid == 0 && !shared_vm) {
    if (flags & CLONE_CHILD_SETTID) {
      int32_t tid = int32_t(::gettid());
      write_guest(p, req.child_tid, tid);
    }
    if (flags & CLONE_CHILD_CLEARTID) p.thread().clear_child_tid = req.child_tid;
    if (flags & CLONE_SETTLS) fs_base(p.cpu()) = req.tls;
    if (req.stack) p.cpu().gpr[RSP] = req.stack;
  }
  return pid;
}

// clone(flags, newsp, parent_tid, child_tid, tls) on x86-64.
int64_t sys_clone(Process& p, const SyscallArgs& a) {
  CloneRequest req{a.a[0] & ~uint64_t(CSIGNAL), a.a[1], a.a[2], a.a[3], a.a[4]};
  return do_clone(p, req, a.a[0] & CSIGNAL);
}

// clone3(struct clone_args*, size): the stack is given as base and size.
int64_t sys_clone3(Process& p, const SyscallArgs& a) {
  struct CloneArgs {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
  } ca{};
  const uint64_t size = a.a[1];
  if (size < 64 || size > 4096) return -EINVAL;  // CLONE_ARGS_SIZE_VER0 .. a page
  if (!copy_from_guest(p, &ca, a.a[0], std::min<uint64_t>(size, sizeof ca))) return -EFAULT;
  if (ca.exit_signal & ~uint64_t(CSIGNAL)) return -EINVAL;
  if ((ca.flags & CLONE_PIDFD) || ca.set_tid || ca.set_tid_size || ca.cgroup) {
    // (pidfd from clone3, set_tid and cgroups are not supported: as a kernel without them)
    return -EINVAL;
  }
  if ((ca.stack == 0) != (ca.stack_size == 0)) return -EINVAL;
  CloneRequest req{ca.flags, ca.stack ? ca.stack + ca.stack_size : 0, ca.parent_tid, ca.child_tid, ca.tls};
  return do_clone(p, req, ca.exit_signal);
}

int64_t sys_wait4(Process& p, const SyscallArgs& a) {
  return blocking_call(SYS_wait4, long(a.a[0]), L(host_opt(p, a.a[1], 4)), long(a.a[2]),
                       L(host_opt(p, a.a[3], sizeof(struct rusage))));
}

int64_t sys_waitid(Process& p, const SyscallArgs& a) {
  return blocking_call(SYS_waitid, long(a.a[0]), long(a.a[1]), L(host_opt(p, a.a[2], sizeof(siginfo_t))),
                       long(a.a[3]), L(host_opt(p, a.a[4], sizeof(struct rusage))));
}

// ---- kill ----

// A signal the guest sends to itself or to one of its threads. Most pass through to the
// host, whose dispositions and per-thread masks mirror the guest's: the host then ignores,
// holds (blocked) or records it for the guest handler on the thread it picks (signals.h). A
// default-fatal one ends the guest here, with the diagnostic line; the signals Vireo keeps
// for itself on the host (SIGSEGV, SIGILL, ...) are made pending here: for `target`, or with
// none, for the process (any thread that does not block it).
int64_t signal_self(Process& p, int sig, int code, GuestThread* target,
                    int64_t (*host_send)(const SyscallArgs&), const SyscallArgs& a) {
  if (sig < 0 || sig > 64) return -EINVAL;
  if (sig == 0) return host_send(a);
  uint64_t handler = p.sigactions[sig].handler;
  bool blocked = (target ? target->sigmask : p.thread().sigmask) & sigbit(sig);
  if (sig == SIGKILL || (!blocked && handler == uint64_t(SIG_DFL) &&
                         default_action(sig) == DefaultAction::Terminate))
    die_by_signal(p, sig, 0);
  if (sig == SIGSTOP || mirrored_on_host(sig)) return host_send(a);
  if (handler == uint64_t(SIG_IGN)) return 0;
  if (handler == uint64_t(SIG_DFL) && default_action(sig) != DefaultAction::Terminate) return 0;
  GuestSiginfo info;
  info.signo = sig;
  info.code = code;
  info.set_u32(0, uint32_t(::getpid()));
  info.set_u32(4, uint32_t(::getuid()));
  if (target) {
    add_thread_pending(*target, sig, info);
  } else if (!(p.thread().sigmask & sigbit(sig))) {
    add_pending(sig, info);
  } else {
    add_process_pending(sig, info);
    p.wake_threads_for(sig);
  }
  return 0;
}

int64_t host_kill(const SyscallArgs& a) { return host_syscall(SYS_kill, long(a.a[0]), long(a.a[1])); }
int64_t host_tgkill(const SyscallArgs& a) {
  return host_syscall(SYS_tgkill, long(a.a[0]), long(a.a[1]), long(a.a[2]));
}
int64_t host_tkill(const SyscallArgs& a) { return host_syscall(SYS_tkill, long(a.a[0]), long(a.a[1])); }

int64_t sys_kill(Process& p, const SyscallArgs& a) {
  pid_t pid = pid_t(a.a[0]);
  if (pid == ::getpid()) return signal_self(p, int(a.a[1]), SI_USER, nullptr, host_kill, a);
  return host_kill(a);
}

// A signal for one thread of ours: sent with the thread list locked, so that the target
// cannot go away meanwhile.
int64_t signal_thread(Process& p, pid_t tid, int sig, int64_t (*host_send)(const SyscallArgs&),
                      const SyscallArgs& a) {
  if (tid == ::gettid()) return signal_self(p, sig, SI_TKILL, &p.thread(), host_send, a);
  int64_t r = 0;
  if (p.with_thread(tid, [&](GuestThread& t) { r = signal_self(p, sig, SI_TKILL, &t, host_send, a); }))
    return r;
  return host_send(a);
}

int64_t sys_tgkill(Process& p, const SyscallArgs& a) {
  if (pid_t(a.a[0]) == ::getpid()) return signal_thread(p, pid_t(a.a[1]), int(a.a[2]), host_tgkill, a);
  return host_tgkill(a);
}

int64_t sys_tkill(Process& p, const SyscallArgs& a) {
  return signal_thread(p, pid_t(a.a[0]), int(a.a[1]), host_tkill, a);
}

}  // namespace

void register_process_syscalls(SyscallTable& t) {
  t[SYS_exit] = {"exit", sys_exit, {Arg::Int}};
  t[SYS_exit_group] = {"exit_group", sys_exit_group, {Arg::Int}};
  t[SYS_getpid] = {"getpid", sys_plain<SYS_getpid>, {}};
  t[SYS_getppid] = {"getppid", sys_plain<SYS_getppid>, {}};
  t[SYS_gettid] = {"gettid", sys_plain<SYS_gettid>, {}};
  t[SYS_getuid] = {"getuid", sys_plain<SYS_getuid>, {}};
  t[SYS_geteuid] = {"geteuid", sys_plain<SYS_geteuid>, {}};
  t[SYS_getgid] = {"getgid", sys_plain<SYS_getgid>, {}};
  t[SYS_getegid] = {"getegid", sys_plain<SYS_getegid>, {}};
  t[SYS_setuid] = {"setuid", sys_plain<SYS_setuid>, {Arg::Int}};
  t[SYS_setgid] = {"setgid", sys_plain<SYS_setgid>, {Arg::Int}};
  t[SYS_setreuid] = {"setreuid", sys_plain<SYS_setreuid>, {Arg::Int, Arg::Int}};
  t[SYS_setregid] = {"setregid", sys_plain<SYS_setregid>, {Arg::Int, Arg::Int}};
  t[SYS_setresuid] = {"setresuid", sys_plain<SYS_setresuid>, {Arg::Int, Arg::Int, Arg::Int}};
  t[SYS_setresgid] = {"setresgid", sys_plain<SYS_setresgid>, {Arg::Int, Arg::Int, Arg::Int}};
  t[SYS_getresuid] = {"getresuid", sys_getres_ids<SYS_getresuid>, {Arg::Ptr, Arg::Ptr, Arg::Ptr}};
  t[SYS_getresgid] = {"getresgid", sys_getres_ids<SYS_getresgid>, {Arg::Ptr, Arg::Ptr, Arg::Ptr}};
  t[SYS_setfsuid] = {"setfsuid", sys_plain<SYS_setfsuid>, {Arg::Int}};
  t[SYS_setfsgid] = {"setfsgid", sys_plain<SYS_setfsgid>, {Arg::Int}};
  t[SYS_getgroups] = {"getgroups", sys_getgroups, {Arg::Int, Arg::Ptr}};
  t[SYS_getpgrp] = {"getpgrp", sys_plain<SYS_getpgrp>, {}};
  t[SYS_getpgid] = {"getpgid", sys_plain<SYS_getpgid>, {Arg::Int}};
  t[SYS_setpgid] = {"setpgid", sys_plain<SYS_setpgid>, {Arg::Int, Arg::Int}};
  t[SYS_getsid] = {"getsid", sys_plain<SYS_getsid>, {Arg::Int}};
  t[SYS_setsid] = {"setsid", sys_plain<SYS_setsid>, {}};
  t[SYS_getpriority] = {"getpriority", sys_plain<SYS_getpriority>, {Arg::Int, Arg::Int}};
  t[SYS_setpriority] = {"setpriority", sys_plain<SYS_setpriority>, {Arg::Int, Arg::Int, Arg::Int}};
  t[SYS_prctl] = {"prctl", sys_prctl, {Arg::Int, Arg::Hex, Arg::Hex, Arg::Hex, Arg::Hex}};
  t[SYS_set_tid_address] = {"set_tid_address", sys_set_tid_address, {Arg::Ptr}};
  t[SYS_set_robust_list] = {"set_robust_list", sys_set_robust_list, {Arg::Ptr, Arg::Uint}};
  t[SYS_get_robust_list] = {"get_robust_list", sys_get_robust_list, {Arg::Int, Arg::Ptr, Arg::Ptr}};
  t[SYS_rseq] = {"rseq", sys_quiet_enosys, {Arg::Ptr, Arg::Uint, Arg::Hex, Arg::Hex}};
  t[SYS_arch_prctl] = {"arch_prctl", sys_arch_prctl, {Arg::Hex, Arg::Hex}};
  t[SYS_fork] = {"fork", sys_fork, {}};
  t[SYS_vfork] = {"vfork", sys_vfork, {}};
  t[SYS_clone] = {"clone", sys_clone, {Arg::Hex, Arg::Ptr, Arg::Ptr, Arg::Ptr, Arg::Ptr}};
  t[SYS_clone3] = {"clone3", sys_clone3, {Arg::Ptr, Arg::Uint}};
  t[SYS_wait4] = {"wait4", sys_wait4, {Arg::Int, Arg::Ptr, Arg::Hex, Arg::Ptr}};
  t[SYS_waitid] = {"waitid", sys_waitid, {Arg::Int, Arg::Int, Arg::Ptr, Arg::Hex, Arg::Ptr}};
  t[SYS_kill] = {"kill", sys_kill, {Arg::Int, Arg::Sig}};
  t[SYS_tgkill] = {"tgkill", sys_tgkill, {Arg::Int, Arg::Int, Arg::Sig}};
  t[SYS_tkill] = {"tkill", sys_tkill, {Arg::Int, Arg::Sig}};
}

}  // namespace vireo
