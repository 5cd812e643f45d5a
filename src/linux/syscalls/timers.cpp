// POSIX per-process timers, and the calls that read or set the system clock.
//
// timer_create's struct sigevent (64 bytes) has no guest pointer in it that the kernel follows
// (sigev_value is handed back untouched in the siginfo), so it is copied in and the timer is a
// host timer: SIGEV_SIGNAL goes to our process, where Vireo's host handler makes it the guest's
// (signals.h), and SIGEV_THREAD_ID names a host tid, which is the guest's. Timer ids are the
// host's.
//
// Setting the machine's clock is refused with EPERM, as for a caller without CAP_SYS_TIME:
// Vireo does not hand the host's clock to a guest. adjtimex/clock_adjtime with modes == 0 only
// read the clock's state and pass through.
#include <sys/syscall.h>
#include <sys/timex.h>
#include <time.h>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/syscalls/host_call.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

constexpr size_t kSigevent = 64;     // sizeof(struct sigevent)
constexpr size_t kItimerspec = 32;   // sizeof(struct itimerspec)

int64_t sys_timer_create(Process& p, const SyscallArgs& a) {
  uint8_t ev[kSigevent];
  const void* evp = nullptr;  // NULL: SIGEV_SIGNAL with SIGALRM, as timer_create(2) says
  if (a.a[1]) {
    if (!copy_from_guest(p, ev, a.a[1], sizeof ev)) return -EFAULT;
    evp = ev;
  }
  int id;
  int64_t r = host_call(SYS_timer_create, a.a[0], hp(evp), hp(&id));
  if (r == 0 && !write_guest(p, a.a[2], id)) {
    host_call(SYS_timer_delete, id);
    return -EFAULT;
  }
  if (r == 0) p.posix_timers_created = true;  // an execve deletes them (exec_in_place.cpp)
  return r;
}
int64_t sys_timer_settime(Process& p, const SyscallArgs& a) {
  return host_call(SYS_timer_settime, a.a[0], a.a[1], hp(host_arg(p, a.a[2], kItimerspec)),
                   hp(host_opt(p, a.a[3], kItimerspec)));
}
int64_t sys_timer_gettime(Process& p, const SyscallArgs& a) {
  return host_call(SYS_timer_gettime, a.a[0], hp(host_arg(p, a.a[1], kItimerspec)));
}
int64_t sys_timer_getoverrun(Process&, const SyscallArgs& a) {
  return host_call(SYS_timer_getoverrun, a.a[0]);
}
int64_t sys_timer_delete(Process&, const SyscallArgs& a) { return host_call(SYS_timer_delete, a.a[0]); }

int64_t sys_refuse_clock(Process&, const SyscallArgs&) { return -EPERM; }

// struct timex: its first field is `modes`; zero asks for a read.
int64_t sys_adjtimex(Process& p, const SyscallArgs& a) {
  uint32_t modes;
  if (!read_guest(p, a.a[0], modes)) return -EFAULT;
  if (modes != 0) return -EPERM;
  return host_call(SYS_adjtimex, hp(host_arg(p, a.a[0], sizeof(struct timex))));
}
int64_t sys_clock_adjtime(Process& p, const SyscallArgs& a) {
  uint32_t modes;
  if (!read_guest(p, a.a[1], modes)) return -EFAULT;
  if (modes != 0) return -EPERM;
  return host_call(SYS_clock_adjtime, a.a[0], hp(host_arg(p, a.a[1], sizeof(struct timex))));
}

}  // namespace

void register_timers_syscalls(SyscallTable& t) {
  t[SYS_timer_create] = {"timer_create", sys_timer_create, {Arg::Int, Arg::Ptr, Arg::Ptr}};
  t[SYS_timer_settime] = {"timer_settime", sys_timer_settime, {Arg::Int, Arg::Hex, Arg::Ptr, Arg::Ptr}};
  t[SYS_timer_gettime] = {"timer_gettime", sys_timer_gettime, {Arg::Int, Arg::Ptr}};
  t[SYS_timer_getoverrun] = {"timer_getoverrun", sys_timer_getoverrun, {Arg::Int}};
  t[SYS_timer_delete] = {"timer_delete", sys_timer_delete, {Arg::Int}};
  t[SYS_settimeofday] = {"settimeofday", sys_refuse_clock, {Arg::Ptr, Arg::Ptr}};
  t[SYS_clock_settime] = {"clock_settime", sys_refuse_clock, {Arg::Int, Arg::Ptr}};
  t[SYS_adjtimex] = {"adjtimex", sys_adjtimex, {Arg::Ptr}};
  t[SYS_clock_adjtime] = {"clock_adjtime", sys_clock_adjtime, {Arg::Int, Arg::Ptr}};
}

}  // namespace vireo
