// futex, passed through to the host: a stand-in until the guest-threads work brings its own
// futex family (src/linux/syscalls/futex.cpp), which registers after this file and replaces it.
//
// Guest memory is host memory at guest_base + addr and guest threads are host threads, so a
// futex word in the guest is a futex word on the host: translating the addresses is all there
// is to do. Single-threaded programs need it too: glibc's lock and once code calls FUTEX_WAKE and
// aborts ("The futex facility returned an unexpected error code") on ENOSYS.
#include <linux/futex.h>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/syscalls/host_call.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

int64_t sys_futex(Process& p, const SyscallArgs& a) {
  int op = int(a.a[1]);
  void* uaddr = host_arg(p, a.a[0], 4);
  long arg4 = long(a.a[3]);
  void* uaddr2 = nullptr;
  switch (op & FUTEX_CMD_MASK) {
    case FUTEX_WAIT: case FUTEX_WAIT_BITSET: case FUTEX_LOCK_PI: case FUTEX_LOCK_PI2:
      arg4 = hp(host_opt(p, a.a[3], 16));  // a timeout
      break;
    case FUTEX_WAIT_REQUEUE_PI:
      arg4 = hp(host_opt(p, a.a[3], 16));
      uaddr2 = host_arg(p, a.a[4], 4);
      break;
    case FUTEX_REQUEUE: case FUTEX_CMP_REQUEUE: case FUTEX_WAKE_OP: case FUTEX_CMP_REQUEUE_PI:
      uaddr2 = host_arg(p, a.a[4], 4);  // arg4 is a count (val2)
      break;
    default: break;
  }
  return host_call(SYS_futex, hp(uaddr), op, a.a[2], arg4, hp(uaddr2), a.a[5]);
}

// The robust list head is a guest address that the host kernel would walk at thread exit with
// host addresses; until threads exist it is only reported back.
uint64_t robust_head = 0, robust_len = 0;

int64_t sys_get_robust_list(Process& p, const SyscallArgs& a) {
  if (a.a[0] != 0 && int(a.a[0]) != ::gettid()) return -EPERM;
  if (!write_guest(p, a.a[1], robust_head) || !write_guest(p, a.a[2], robust_len)) return -EFAULT;
  return 0;
}

}  // namespace

void register_futex_passthrough_syscalls(SyscallTable& t) {
  t[SYS_futex] = {"futex", sys_futex, {Arg::Ptr, Arg::Hex, Arg::Int, Arg::Ptr, Arg::Ptr, Arg::Hex}};
  t[SYS_get_robust_list] = {"get_robust_list", sys_get_robust_list, {Arg::Int, Arg::Ptr, Arg::Ptr}};
}

}  // namespace vireo
