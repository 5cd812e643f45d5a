// Passing a guest system call on to the host kernel.
//
// Guest fds are host fds and guest memory is host memory at guest_base + addr, so most calls
// of the newer families (sockets, events, IPC) are the host call with guest pointers turned into
// host pointers (host_arg / host_opt). These two helpers keep the handlers to one line each.
#pragma once

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#include "linux/syscalls/host_result.h"

namespace vireo {

// The host syscall `nr`; the result in the kernel's -errno convention.
template <class... T>
int64_t host_call(long nr, T... args) {
  return host_result(::syscall(nr, long(args)...));
}

// A host pointer as a syscall argument.
inline long hp(const void* p) { return long(reinterpret_cast<uintptr_t>(p)); }

}  // namespace vireo
