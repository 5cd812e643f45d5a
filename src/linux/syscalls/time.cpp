// Clocks, sleeps and timers: all pass through to the host (timespec, timeval, itimerval and
// struct tms have the same layout for guest and host).
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/vdso/vdso_mapping.h"
#include "linux/syscalls/host_call.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

int64_t host_syscall(long nr, long a = 0, long b = 0, long c = 0, long d = 0) {
  return host_result(::syscall(nr, a, b, c, d));
}
long L(const void* p) { return long(reinterpret_cast<uintptr_t>(p)); }

int64_t sys_clock_gettime(Process& p, const SyscallArgs& a) {
  vdso_refresh(p.cpu().tsc_offset);  // the guest's vDSO asks the kernel when its data page is stale
  return host_syscall(SYS_clock_gettime, long(a.a[0]), L(host_arg(p, a.a[1], 16)));
}
int64_t sys_clock_getres(Process& p, const SyscallArgs& a) {
  return host_syscall(SYS_clock_getres, long(a.a[0]), L(host_opt(p, a.a[1], 16)));
}
int64_t sys_gettimeofday(Process& p, const SyscallArgs& a) {
  return host_syscall(SYS_gettimeofday, L(host_opt(p, a.a[0], 16)), L(host_opt(p, a.a[1], 8)));
}
int64_t sys_time(Process& p, const SyscallArgs& a) {
  time_t now = ::time(nullptr);
  if (a.a[0] && !write_guest(p, a.a[0], now)) return -EFAULT;
  return now;
}
int64_t sys_nanosleep(Process& p, const SyscallArgs& a) {
  return blocking_call(SYS_nanosleep, L(host_arg(p, a.a[0], 16)), L(host_opt(p, a.a[1], 16)));
}
int64_t sys_clock_nanosleep(Process& p, const SyscallArgs& a) {
  return blocking_call(SYS_clock_nanosleep, long(a.a[0]), long(a.a[1]), L(host_arg(p, a.a[2], 16)),
                       L(host_opt(p, a.a[3], 16)));
}
int64_t sys_times(Process& p, const SyscallArgs& a) {
  return host_syscall(SYS_times, L(host_opt(p, a.a[0], sizeof(struct tms))));
}
int64_t sys_alarm(Process&, const SyscallArgs& a) { return ::alarm(unsigned(a.a[0])); }
int64_t sys_setitimer(Process& p, const SyscallArgs& a) {
  return host_syscall(SYS_setitimer, long(a.a[0]), L(host_opt(p, a.a[1], 32)), L(host_opt(p, a.a[2], 32)));
}
int64_t sys_getitimer(Process& p, const SyscallArgs& a) {
  return host_syscall(SYS_getitimer, long(a.a[0]), L(host_arg(p, a.a[1], 32)));
}

}  // namespace

void register_time_syscalls(SyscallTable& t) {
  t[SYS_clock_gettime] = {"clock_gettime", sys_clock_gettime, {Arg::Int, Arg::Ptr}};
  t[SYS_clock_getres] = {"clock_getres", sys_clock_getres, {Arg::Int, Arg::Ptr}};
  t[SYS_gettimeofday] = {"gettimeofday", sys_gettimeofday, {Arg::Ptr, Arg::Ptr}};
  t[SYS_time] = {"time", sys_time, {Arg::Ptr}};
  t[SYS_nanosleep] = {"nanosleep", sys_nanosleep, {Arg::Ptr, Arg::Ptr}};
  t[SYS_clock_nanosleep] = {"clock_nanosleep", sys_clock_nanosleep, {Arg::Int, Arg::Hex, Arg::Ptr, Arg::Ptr}};
  t[SYS_times] = {"times", sys_times, {Arg::Ptr}};
  t[SYS_alarm] = {"alarm", sys_alarm, {Arg::Uint}};
  t[SYS_setitimer] = {"setitimer", sys_setitimer, {Arg::Int, Arg::Ptr, Arg::Ptr}};
  t[SYS_getitimer] = {"getitimer", sys_getitimer, {Arg::Int, Arg::Ptr}};
}

}  // namespace vireo
