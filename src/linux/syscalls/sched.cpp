// Scheduling policy and priorities (sched_*), I/O priorities, and membarrier.
//
// Guest pids and tids are host pids and tids, and struct sched_param / sched_attr /timespec have
// the host layout, so these pass through. membarrier acts on the threads of our process, which
// are the guest's threads (one host thread per guest thread).
#include <sched.h>
#include <sys/syscall.h>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/syscalls/host_call.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

constexpr size_t kSchedParam = 4;  // struct sched_param: int sched_priority
// A NULL sched_param is EINVAL (checked before the pid), not EFAULT: it goes to the host as NULL.

int64_t sys_sched_setparam(Process& p, const SyscallArgs& a) {
  return host_call(SYS_sched_setparam, a.a[0], hp(host_opt(p, a.a[1], kSchedParam)));
}
int64_t sys_sched_getparam(Process& p, const SyscallArgs& a) {
  return host_call(SYS_sched_getparam, a.a[0], hp(host_opt(p, a.a[1], kSchedParam)));
}
int64_t sys_sched_setscheduler(Process& p, const SyscallArgs& a) {
  return host_call(SYS_sched_setscheduler, a.a[0], a.a[1], hp(host_opt(p, a.a[2], kSchedParam)));
}
template <long NR>
int64_t sys_plain(Process&, const SyscallArgs& a) {
  return host_call(NR, a.a[0], a.a[1], a.a[2], a.a[3]);
}
int64_t sys_sched_rr_get_interval(Process& p, const SyscallArgs& a) {
  return host_call(SYS_sched_rr_get_interval, a.a[0], hp(host_arg(p, a.a[1], 16)));
}
// sched_attr starts with its own size (u32); the kernel reads or fills that many bytes.
int64_t sys_sched_setattr(Process& p, const SyscallArgs& a) {
  uint32_t size;
  if (!read_guest(p, a.a[1], size)) return -EFAULT;
  return host_call(SYS_sched_setattr, a.a[0], hp(host_arg(p, a.a[1], size ? size : 48)), a.a[2]);
}
int64_t sys_sched_getattr(Process& p, const SyscallArgs& a) {
  return host_call(SYS_sched_getattr, a.a[0], hp(host_arg(p, a.a[1], uint32_t(a.a[2]))), a.a[2], a.a[3]);
}

}  // namespace

void register_sched_syscalls(SyscallTable& t) {
  t[SYS_sched_setparam] = {"sched_setparam", sys_sched_setparam, {Arg::Int, Arg::Ptr}};
  t[SYS_sched_getparam] = {"sched_getparam", sys_sched_getparam, {Arg::Int, Arg::Ptr}};
  t[SYS_sched_setscheduler] = {"sched_setscheduler", sys_sched_setscheduler, {Arg::Int, Arg::Int, Arg::Ptr}};
  t[SYS_sched_getscheduler] = {"sched_getscheduler", sys_plain<SYS_sched_getscheduler>, {Arg::Int}};
  t[SYS_sched_get_priority_max] = {"sched_get_priority_max", sys_plain<SYS_sched_get_priority_max>, {Arg::Int}};
  t[SYS_sched_get_priority_min] = {"sched_get_priority_min", sys_plain<SYS_sched_get_priority_min>, {Arg::Int}};
  t[SYS_sched_rr_get_interval] = {"sched_rr_get_interval", sys_sched_rr_get_interval, {Arg::Int, Arg::Ptr}};
  t[SYS_sched_setattr] = {"sched_setattr", sys_sched_setattr, {Arg::Int, Arg::Ptr, Arg::Hex}};
  t[SYS_sched_getattr] = {"sched_getattr", sys_sched_getattr, {Arg::Int, Arg::Ptr, Arg::Uint, Arg::Hex}};
  t[SYS_ioprio_get] = {"ioprio_get", sys_plain<SYS_ioprio_get>, {Arg::Int, Arg::Int}};
  t[SYS_ioprio_set] = {"ioprio_set", sys_plain<SYS_ioprio_set>, {Arg::Int, Arg::Int, Arg::Hex}};
  t[SYS_membarrier] = {"membarrier", sys_plain<SYS_membarrier>, {Arg::Int, Arg::Hex, Arg::Int}};
}

}  // namespace vireo
