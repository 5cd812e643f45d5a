// Capabilities, supplementary groups, namespaces and kcmp.
//
// These change or inspect the process's own kernel state, which is Vireo's host process state
// (guest pids are host pids), so they pass through with the guest buffers as host pointers:
// the host kernel grants or refuses exactly what it would grant the program run natively by the
// same user.
#include <linux/capability.h>
#include <sys/syscall.h>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/syscalls/host_call.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

// capget/capset: the header says the version, which says how many 12-byte data structs follow
// (one for version 1, two for versions 2 and 3; capget(2)).
size_t cap_data_size(Process& p, uint64_t header) {
  uint32_t version = 0;
  read_guest(p, header, version);
  return version == _LINUX_CAPABILITY_VERSION_1 ? 12 : 24;
}
int64_t sys_capget(Process& p, const SyscallArgs& a) {
  size_t size = cap_data_size(p, a.a[0]);
  return host_call(SYS_capget, hp(host_arg(p, a.a[0], 8)), hp(host_opt(p, a.a[1], size)));
}
int64_t sys_capset(Process& p, const SyscallArgs& a) {
  size_t size = cap_data_size(p, a.a[0]);
  return host_call(SYS_capset, hp(host_arg(p, a.a[0], 8)), hp(host_opt(p, a.a[1], size)));
}
int64_t sys_setgroups(Process& p, const SyscallArgs& a) {
  int n = int(a.a[0]);
  if (n < 0 || n > 65536) return -EINVAL;  // NGROUPS_MAX
  return host_call(SYS_setgroups, n, hp(n ? host_arg(p, a.a[1], size_t(n) * 4) : nullptr));
}
template <long NR>
int64_t sys_plain(Process&, const SyscallArgs& a) {
  return host_call(NR, a.a[0], a.a[1], a.a[2], a.a[3], a.a[4]);
}

}  // namespace

void register_creds_syscalls(SyscallTable& t) {
  t[SYS_capget] = {"capget", sys_capget, {Arg::Ptr, Arg::Ptr}};
  t[SYS_capset] = {"capset", sys_capset, {Arg::Ptr, Arg::Ptr}};
  t[SYS_setgroups] = {"setgroups", sys_setgroups, {Arg::Int, Arg::Ptr}};
  t[SYS_unshare] = {"unshare", sys_plain<SYS_unshare>, {Arg::Hex}};
  t[SYS_setns] = {"setns", sys_plain<SYS_setns>, {Arg::Fd, Arg::Hex}};
  t[SYS_kcmp] = {"kcmp", sys_plain<SYS_kcmp>, {Arg::Int, Arg::Int, Arg::Int, Arg::Uint, Arg::Uint}};
}

}  // namespace vireo
