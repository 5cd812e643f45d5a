#include "linux/altstack.h"

#include <cerrno>

namespace vireo {

int AltStack::change(uint64_t rsp, uint64_t new_sp, int32_t new_flags, uint64_t new_size) {
  if (on(rsp)) return -EPERM;  // the stack a handler runs on cannot change under it
  const int32_t mode = new_flags & ~kAutoDisarm;
  if (mode != kDisable && mode != kOnStack && mode != 0) return -EINVAL;
  // Linux returns before any other check when nothing would change.
  if (new_sp == sp && new_size == size && new_flags == flags) return 0;
  if (mode == kDisable) {
    new_sp = new_size = 0;
  } else if (new_size < kMinSize) {
    return -ENOMEM;
  }
  sp = new_sp;
  size = new_size;
  flags = new_flags;
  return 0;
}

}  // namespace vireo
