// Process system calls: exit, ids, thread-area setup.
#include <asm/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/syscalls/host_result.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

int64_t sys_exit_group(Process& p, const SyscallArgs& a) {
  p.exited = true;
  p.exit_status = int(a.a[0] & 0xFF);
  return 0;
}

int64_t sys_getpid(Process&, const SyscallArgs&) { return ::getpid(); }
int64_t sys_gettid(Process&, const SyscallArgs&) { return ::gettid(); }

int64_t sys_set_tid_address(Process& p, const SyscallArgs& a) {
  p.clear_child_tid = a.a[0];
  return ::gettid();
}

int64_t sys_set_robust_list(Process&, const SyscallArgs&) { return 0; }
int64_t sys_rseq(Process&, const SyscallArgs&) { return -ENOSYS; }

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

}  // namespace

void register_process_syscalls(SyscallTable& t) {
  t[SYS_exit] = {"exit", sys_exit_group, {Arg::Int}};
  t[SYS_exit_group] = {"exit_group", sys_exit_group, {Arg::Int}};
  t[SYS_getpid] = {"getpid", sys_getpid, {}};
  t[SYS_gettid] = {"gettid", sys_gettid, {}};
  t[SYS_set_tid_address] = {"set_tid_address", sys_set_tid_address, {Arg::Ptr}};
  t[SYS_set_robust_list] = {"set_robust_list", sys_set_robust_list, {Arg::Ptr, Arg::Uint}};
  t[SYS_rseq] = {"rseq", sys_rseq, {Arg::Ptr, Arg::Uint, Arg::Hex, Arg::Hex}};
  t[SYS_arch_prctl] = {"arch_prctl", sys_arch_prctl, {Arg::Hex, Arg::Hex}};
}

}  // namespace vireo
