// The futex family: futex(2) with every operation, and futex_waitv(2).
//
// Guest memory is host memory (guest_base + address) and guest TIDs are host TIDs, so a guest
// futex is the host futex at the same word: the host kernel does the waiting, the waking, the
// requeueing and the priority inheritance (whose futex words hold TIDs), private futexes work
// among the guest's threads (one host process) and shared ones among processes (MAP_SHARED
// memory). Vireo only translates the addresses and checks them against the guest window. The
// waits block, so every futex call goes through blocking_call (host_call.h).
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>

#include <cstring>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/syscalls/host_call.h"
#include "linux/syscalls/syscall_table.h"

#ifndef FUTEX_LOCK_PI2
#define FUTEX_LOCK_PI2 13
#endif

namespace vireo {

namespace {

long L(const void* p) { return long(reinterpret_cast<uintptr_t>(p)); }

// A futex word: 4-byte aligned (else EINVAL, as Linux checks first) and inside the window
// (else EFAULT: host_arg gives a pointer every host call rejects).
int futex_word(Process& p, uint64_t addr, void*& host) {
  if (addr & 3) return -EINVAL;
  host = host_arg(p, addr, 4);
  return 0;
}

int64_t sys_futex(Process& p, const SyscallArgs& a) {
  const int op = int(a.a[1]);
  const int cmd = op & FUTEX_CMD_MASK;
  void* uaddr;
  if (int e = futex_word(p, a.a[0], uaddr)) return e;
  void* uaddr2 = nullptr;
  long fourth = long(a.a[3]);  // a timeout pointer, or val2 (a count) for the requeue family
  switch (cmd) {
    case FUTEX_WAIT: case FUTEX_WAIT_BITSET: case FUTEX_LOCK_PI: case FUTEX_LOCK_PI2:
      fourth = L(host_opt(p, a.a[3], sizeof(struct timespec)));
      break;
    case FUTEX_WAIT_REQUEUE_PI:
      fourth = L(host_opt(p, a.a[3], sizeof(struct timespec)));
      if (int e = futex_word(p, a.a[4], uaddr2)) return e;
      break;
    case FUTEX_REQUEUE: case FUTEX_CMP_REQUEUE: case FUTEX_WAKE_OP: case FUTEX_CMP_REQUEUE_PI:
      if (int e = futex_word(p, a.a[4], uaddr2)) return e;
      break;
    case FUTEX_WAKE: case FUTEX_WAKE_BITSET: case FUTEX_UNLOCK_PI: case FUTEX_TRYLOCK_PI:
      break;
    default:
      return -ENOSYS;  // as Linux answers an unknown futex operation
  }
  return blocking_call(SYS_futex, L(uaddr), op, long(a.a[2]), fourth, L(uaddr2), long(a.a[5]));
}

// futex_waitv(waiters, nr_futexes, flags, timeout, clockid): the array holds guest addresses.
int64_t sys_futex_waitv(Process& p, const SyscallArgs& a) {
  struct Waiter {
    uint64_t val, uaddr;
    uint32_t flags, reserved;
  };
  constexpr uint64_t kMaxWaiters = 128;  // FUTEX_WAITV_MAX
  const uint64_t n = a.a[1];
  if (n == 0 || n > kMaxWaiters) return -EINVAL;
  Waiter w[kMaxWaiters];
  if (!copy_from_guest(p, w, a.a[0], n * sizeof(Waiter))) return -EFAULT;
  for (uint64_t i = 0; i < n; ++i) {
    // (alignment is the kernel's to check, by the size in the flags)
    void* host = guest_ptr(p, w[i].uaddr, 1);
    w[i].uaddr = host ? uint64_t(reinterpret_cast<uintptr_t>(host)) : ~uint64_t(0) << 48;
  }
  return blocking_call(SYS_futex_waitv, L(w), long(n), long(a.a[2]),
                       L(host_opt(p, a.a[3], sizeof(struct timespec))), long(a.a[4]));
}

}  // namespace

void register_futex_syscalls(SyscallTable& t) {
  t[SYS_futex] = {"futex", sys_futex, {Arg::Ptr, Arg::Hex, Arg::Int, Arg::Ptr, Arg::Ptr, Arg::Hex}};
  t[SYS_futex_waitv] = {"futex_waitv", sys_futex_waitv, {Arg::Ptr, Arg::Uint, Arg::Hex, Arg::Ptr, Arg::Int}};
}

}  // namespace vireo
