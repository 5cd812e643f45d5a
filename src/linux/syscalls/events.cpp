// Event fds: epoll, eventfd, timerfd, signalfd, inotify.
//
// Each is a host fd (guest fds are host fds), and struct epoll_event (packed, 12 bytes on
// x86-64), itimerspec, signalfd_siginfo and inotify_event have the same layout for guest and
// host, so the calls pass through with guest buffers as host pointers.
//
// Two things need Vireo's signal emulation (signals.h):
//  - epoll_pwait/epoll_pwait2 wait with a temporary guest mask (mask_wait.h).
//  - signalfd reads signals that are pending on the host: the guest's blocked mask is mirrored
//    there, so a signal the guest blocks is pending in the host kernel, where signalfd finds it.
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/syscalls/guest_path.h"
#include "linux/syscalls/host_call.h"
#include "linux/syscalls/mask_wait.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

constexpr size_t kEpollEvent = 12;  // sizeof(struct epoll_event): packed on x86-64
static_assert(sizeof(epoll_event) == kEpollEvent);

int64_t sys_epoll_create(Process&, const SyscallArgs& a) {
  // epoll_create(2): the size is ignored but must be positive.
  if (int(a.a[0]) <= 0) return -EINVAL;
  return host_call(SYS_epoll_create1, 0);
}
int64_t sys_epoll_create1(Process&, const SyscallArgs& a) {
  return host_call(SYS_epoll_create1, a.a[0]);
}
int64_t sys_epoll_ctl(Process& p, const SyscallArgs& a) {
  return host_call(SYS_epoll_ctl, a.a[0], a.a[1], a.a[2], hp(host_opt(p, a.a[3], kEpollEvent)));
}

// The guest's event buffer: maxevents entries (a non-positive count is the host's EINVAL).
void* event_buffer(Process& p, uint64_t addr, uint64_t maxevents) {
  int n = int(maxevents);
  return host_arg(p, addr, n > 0 ? size_t(n) * kEpollEvent : 0);
}

int64_t sys_epoll_wait(Process& p, const SyscallArgs& a) {
  return blocking_call(SYS_epoll_wait, a.a[0], hp(event_buffer(p, a.a[1], a.a[2])), a.a[2], a.a[3]);
}

int64_t sys_epoll_pwait(Process& p, const SyscallArgs& a) {
  void* events = event_buffer(p, a.a[1], a.a[2]);
  return wait_with_guest_mask(p, a.a[4], a.a[5], [&](uint64_t* mask) {
    return blocking_call(SYS_epoll_pwait, a.a[0], hp(events), a.a[2], a.a[3], hp(mask), 8);
  });
}
int64_t sys_epoll_pwait2(Process& p, const SyscallArgs& a) {
  void* events = event_buffer(p, a.a[1], a.a[2]);
  void* timeout = host_opt(p, a.a[3], 16);
  return wait_with_guest_mask(p, a.a[4], a.a[5], [&](uint64_t* mask) {
    return blocking_call(SYS_epoll_pwait2, a.a[0], hp(events), a.a[2], hp(timeout), hp(mask), 8);
  });
}

int64_t sys_eventfd2(Process&, const SyscallArgs& a) {
  return host_call(SYS_eventfd2, a.a[0], a.a[1]);
}
int64_t sys_eventfd(Process&, const SyscallArgs& a) { return host_call(SYS_eventfd2, a.a[0], 0); }

int64_t sys_timerfd_create(Process&, const SyscallArgs& a) {
  return host_call(SYS_timerfd_create, a.a[0], a.a[1]);
}
int64_t sys_timerfd_settime(Process& p, const SyscallArgs& a) {
  return host_call(SYS_timerfd_settime, a.a[0], a.a[1], hp(host_arg(p, a.a[2], 32)),
                   hp(host_opt(p, a.a[3], 32)));
}
int64_t sys_timerfd_gettime(Process& p, const SyscallArgs& a) {
  return host_call(SYS_timerfd_gettime, a.a[0], hp(host_arg(p, a.a[1], 32)));
}

// signalfd4(fd, mask, sizemask, flags): the mask is copied in (signalfd(2) takes only the
// 8-byte kernel sigset).
int64_t sys_signalfd4(Process& p, const SyscallArgs& a) {
  if (a.a[2] != 8) return -EINVAL;
  uint64_t mask;
  if (!read_guest(p, a.a[1], mask)) return -EFAULT;
  return host_call(SYS_signalfd4, a.a[0], hp(&mask), 8, a.a[3]);
}
int64_t sys_signalfd(Process& p, const SyscallArgs& a) {
  SyscallArgs b = a;
  b.a[3] = 0;
  return sys_signalfd4(p, b);
}

int64_t sys_inotify_init(Process&, const SyscallArgs&) { return host_call(SYS_inotify_init1, 0); }
int64_t sys_inotify_init1(Process&, const SyscallArgs& a) {
  return host_call(SYS_inotify_init1, a.a[0]);
}
int64_t sys_inotify_add_watch(Process& p, const SyscallArgs& a) {
  std::string path;
  if (int r = guest_path(p, a.a[1], path)) {
    // The kernel checks the mask and the descriptor before it reads the path: the host, given
    // a path it cannot read either, says which error comes first.
    int64_t first = host_call(SYS_inotify_add_watch, a.a[0], hp(host_arg(p, ~uint64_t(0), 1)), a.a[2]);
    return first == -EFAULT ? r : first;
  }
  return host_call(SYS_inotify_add_watch, a.a[0], hp(path.c_str()), a.a[2]);
}
int64_t sys_inotify_rm_watch(Process&, const SyscallArgs& a) {
  return host_call(SYS_inotify_rm_watch, a.a[0], a.a[1]);
}

}  // namespace

void register_events_syscalls(SyscallTable& t) {
  t[SYS_epoll_create] = {"epoll_create", sys_epoll_create, {Arg::Int}};
  t[SYS_epoll_create1] = {"epoll_create1", sys_epoll_create1, {Arg::Hex}};
  t[SYS_epoll_ctl] = {"epoll_ctl", sys_epoll_ctl, {Arg::Fd, Arg::Int, Arg::Fd, Arg::Ptr}};
  t[SYS_epoll_wait] = {"epoll_wait", sys_epoll_wait, {Arg::Fd, Arg::Ptr, Arg::Int, Arg::Int}};
  t[SYS_epoll_pwait] = {"epoll_pwait", sys_epoll_pwait, {Arg::Fd, Arg::Ptr, Arg::Int, Arg::Int, Arg::Ptr, Arg::Uint}};
  t[SYS_epoll_pwait2] = {"epoll_pwait2", sys_epoll_pwait2, {Arg::Fd, Arg::Ptr, Arg::Int, Arg::Ptr, Arg::Ptr, Arg::Uint}};
  t[SYS_eventfd] = {"eventfd", sys_eventfd, {Arg::Uint}};
  t[SYS_eventfd2] = {"eventfd2", sys_eventfd2, {Arg::Uint, Arg::Hex}};
  t[SYS_timerfd_create] = {"timerfd_create", sys_timerfd_create, {Arg::Int, Arg::Hex}};
  t[SYS_timerfd_settime] = {"timerfd_settime", sys_timerfd_settime, {Arg::Fd, Arg::Hex, Arg::Ptr, Arg::Ptr}};
  t[SYS_timerfd_gettime] = {"timerfd_gettime", sys_timerfd_gettime, {Arg::Fd, Arg::Ptr}};
  t[SYS_signalfd] = {"signalfd", sys_signalfd, {Arg::Fd, Arg::Ptr, Arg::Uint}};
  t[SYS_signalfd4] = {"signalfd4", sys_signalfd4, {Arg::Fd, Arg::Ptr, Arg::Uint, Arg::Hex}};
  t[SYS_inotify_init] = {"inotify_init", sys_inotify_init, {}};
  t[SYS_inotify_init1] = {"inotify_init1", sys_inotify_init1, {Arg::Hex}};
  t[SYS_inotify_add_watch] = {"inotify_add_watch", sys_inotify_add_watch, {Arg::Fd, Arg::Str, Arg::Hex}};
  t[SYS_inotify_rm_watch] = {"inotify_rm_watch", sys_inotify_rm_watch, {Arg::Fd, Arg::Int}};
}

}  // namespace vireo
