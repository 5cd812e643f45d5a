// Passing a guest system call on to the host kernel.
//
// Guest fds are host fds and guest memory is host memory at guest_base + addr, so most calls
// of the newer families (sockets, events, IPC) are the host call with guest pointers turned into
// host pointers (host_arg / host_opt). These helpers keep the handlers to one line each.
//
// A call that can block (waits, sleeps, I/O on pipes, sockets and terminals, locks) goes
// through blocking_call: a signal arriving just before it then stops it from starting
// (safe_syscall.h) instead of waiting behind it. Its result kRestartSys must reach
// handle_syscall unchanged (which restarts the guest syscall), so a handler using it makes it
// its last host call and passes a negative result straight back.
#pragma once

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#include "linux/safe_syscall.h"
#include "linux/signals.h"
#include "linux/syscalls/host_result.h"

namespace vireo {

// The host syscall `nr`; the result in the kernel's -errno convention.
template <class... T>
int64_t host_call(long nr, T... args) {
  return host_result(::syscall(nr, long(args)...));
}

// The host syscall `nr` that may block: its result in the kernel's -errno convention, or
// kRestartSys when a guest signal came first.
template <class... T>
int64_t blocking_call(long nr, T... args) {
  static_assert(sizeof...(T) <= 6);
  const long v[6] = {long(args)...};
  return vireo_safe_syscall(signal_arrived_word(), nr, v[0], v[1], v[2], v[3], v[4], v[5]);
}

// A host pointer as a syscall argument.
inline long hp(const void* p) { return long(reinterpret_cast<uintptr_t>(p)); }

}  // namespace vireo
