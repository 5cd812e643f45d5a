// Helpers shared by the syscall handlers.
#pragma once

#include <errno.h>

#include <cstdint>

namespace vireo {

// Converts a host libc return value (-1 + errno on failure) to the kernel's -errno convention.
inline int64_t host_result(long r) { return r < 0 ? -int64_t(errno) : int64_t(r); }

}  // namespace vireo
