// Clocks and sleeps.
#include <sys/syscall.h>
#include <time.h>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/syscalls/host_result.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

int64_t sys_clock_gettime(Process& p, const SyscallArgs& a) {
  timespec ts;
  int64_t r = host_result(::clock_gettime(clockid_t(a.a[0]), &ts));
  if (r == 0 && !write_guest(p, a.a[1], ts)) return -EFAULT;
  return r;
}

}  // namespace

void register_time_syscalls(SyscallTable& t) {
  t[SYS_clock_gettime] = {"clock_gettime", sys_clock_gettime, {Arg::Int, Arg::Ptr}};
}

}  // namespace vireo
