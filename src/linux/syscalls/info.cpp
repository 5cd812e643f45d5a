// System information: uname, limits, sysinfo, usage, scheduling, personality, getrandom.
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sched.h>
#include <unistd.h>

#include <cstring>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/syscalls/host_result.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

int64_t sys_uname(Process& p, const SyscallArgs& a) {
  struct utsname u;
  ::uname(&u);
  std::strncpy(u.machine, "x86_64", sizeof u.machine);
  return copy_to_guest(p, a.a[0], &u, sizeof u) ? 0 : -EFAULT;
}

// Any process's limits, as the host keeps them: Vireo leaves a guest's limits as the guest sets
// them, so the host's answer for another process (under Vireo or not) is the guest's, with the
// kernel's errors in its order (new limits read first, EFAULT; then ESRCH for no such process,
// EPERM, EINVAL for the resource; kernel/sys.c prlimit64).
int64_t sys_prlimit64(Process& p, const SyscallArgs& a) {
  struct rlimit64 nl, ol;
  struct rlimit64* np = nullptr;
  if (a.a[2]) {
    if (!copy_from_guest(p, &nl, a.a[2], sizeof nl)) return -EFAULT;
    np = &nl;
  }
  int64_t r = host_result(::prlimit64(pid_t(a.a[0]), __rlimit_resource(a.a[1]), np, a.a[3] ? &ol : nullptr));
  if (r == 0 && a.a[3] && !copy_to_guest(p, a.a[3], &ol, sizeof ol)) return -EFAULT;
  return r;
}

int64_t sys_getrandom(Process& p, const SyscallArgs& a) {
  void* buf = guest_ptr(p, a.a[0], a.a[1]);
  if (!buf && a.a[1]) return -EFAULT;
  return host_result(::getrandom(buf, a.a[1], unsigned(a.a[2])));
}

int64_t sys_getrlimit(Process& p, const SyscallArgs& a) {
  return host_result(::syscall(SYS_getrlimit, long(a.a[0]), host_arg(p, a.a[1], 16)));
}
int64_t sys_setrlimit(Process& p, const SyscallArgs& a) {
  return host_result(::syscall(SYS_setrlimit, long(a.a[0]), host_arg(p, a.a[1], 16)));
}

int64_t sys_sysinfo(Process& p, const SyscallArgs& a) {
  return host_result(::syscall(SYS_sysinfo, host_arg(p, a.a[0], sizeof(struct sysinfo))));
}

int64_t sys_getrusage(Process& p, const SyscallArgs& a) {
  return host_result(::syscall(SYS_getrusage, long(a.a[0]), host_arg(p, a.a[1], sizeof(struct rusage))));
}

int64_t sys_sched_yield(Process&, const SyscallArgs&) { return host_result(::sched_yield()); }

int64_t sys_sched_getaffinity(Process& p, const SyscallArgs& a) {
  return host_result(::syscall(SYS_sched_getaffinity, long(a.a[0]), long(a.a[1]),
                               host_arg(p, a.a[2], a.a[1])));
}
int64_t sys_sched_setaffinity(Process& p, const SyscallArgs& a) {
  return host_result(::syscall(SYS_sched_setaffinity, long(a.a[0]), long(a.a[1]),
                               host_arg(p, a.a[2], a.a[1])));
}

// personality(2): the execution domain is process state of the host process; passing it through
// keeps what it means across execve (Vireo re-executes itself, and ADDR_NO_RANDOMIZE and friends
// take effect there as natively). 0xffffffff queries without changing.
int64_t sys_personality(Process&, const SyscallArgs& a) {
  return host_result(::syscall(SYS_personality, long(uint32_t(a.a[0]))));
}

int64_t sys_getcpu(Process& p, const SyscallArgs& a) {
  return host_result(::syscall(SYS_getcpu, host_opt(p, a.a[0], 4), host_opt(p, a.a[1], 4), nullptr));
}

}  // namespace

void register_info_syscalls(SyscallTable& t) {
  t[SYS_uname] = {"uname", sys_uname, {Arg::Ptr}};
  t[SYS_prlimit64] = {"prlimit64", sys_prlimit64, {Arg::Int, Arg::Int, Arg::Ptr, Arg::Ptr}};
  t[SYS_getrlimit] = {"getrlimit", sys_getrlimit, {Arg::Int, Arg::Ptr}};
  t[SYS_setrlimit] = {"setrlimit", sys_setrlimit, {Arg::Int, Arg::Ptr}};
  t[SYS_sysinfo] = {"sysinfo", sys_sysinfo, {Arg::Ptr}};
  t[SYS_getrusage] = {"getrusage", sys_getrusage, {Arg::Int, Arg::Ptr}};
  t[SYS_sched_yield] = {"sched_yield", sys_sched_yield, {}};
  t[SYS_sched_getaffinity] = {"sched_getaffinity", sys_sched_getaffinity, {Arg::Int, Arg::Uint, Arg::Ptr}};
  t[SYS_sched_setaffinity] = {"sched_setaffinity", sys_sched_setaffinity, {Arg::Int, Arg::Uint, Arg::Ptr}};
  t[SYS_getcpu] = {"getcpu", sys_getcpu, {Arg::Ptr, Arg::Ptr, Arg::Ptr}};
  t[SYS_personality] = {"personality", sys_personality, {Arg::Hex}, Arg::Hex};
  t[SYS_getrandom] = {"getrandom", sys_getrandom, {Arg::Ptr, Arg::Uint, Arg::Hex}};
}

}  // namespace vireo
