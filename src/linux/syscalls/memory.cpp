// Memory system calls: brk, mmap, munmap, mprotect, mremap, madvise.
#include <sys/mman.h>
#include <sys/syscall.h>

#include "linux/process.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

int64_t sys_brk(Process& p, const SyscallArgs& a) { return int64_t(p.as().brk(a.a[0])); }

int64_t sys_mmap(Process& p, const SyscallArgs& a) {
  int flags = int(a.a[3]);
  int fd = (flags & MAP_ANONYMOUS) ? -1 : int(a.a[4]);
  return p.as().mmap(a.a[0], a.a[1], int(a.a[2]), flags, fd, a.a[5]);
}

int64_t sys_munmap(Process& p, const SyscallArgs& a) {
  int64_t r = p.as().munmap(a.a[0], a.a[1]);
  if (r == 0) p.engine().invalidate(a.a[0], a.a[1]);
  return r;
}

int64_t sys_mprotect(Process& p, const SyscallArgs& a) {
  int64_t r = p.as().mprotect(a.a[0], a.a[1], int(a.a[2]));
  if (r == 0) p.engine().invalidate(a.a[0], a.a[1]);
  return r;
}

int64_t sys_mremap(Process& p, const SyscallArgs& a) {
  int64_t r = p.as().mremap(a.a[0], a.a[1], a.a[2], int(a.a[3]), a.a[4]);
  if (r >= 0) p.engine().invalidate(a.a[0], a.a[1]);
  return r;
}

int64_t sys_madvise(Process& p, const SyscallArgs& a) {
  return p.as().madvise(a.a[0], a.a[1], int(a.a[2]));
}

}  // namespace

void register_memory_syscalls(SyscallTable& t) {
  t[SYS_brk] = {"brk", sys_brk, {Arg::Ptr}, Arg::Hex};
  t[SYS_mmap] = {"mmap", sys_mmap, {Arg::Ptr, Arg::Uint, Arg::Hex, Arg::Hex, Arg::Fd, Arg::Hex}, Arg::Hex};
  t[SYS_munmap] = {"munmap", sys_munmap, {Arg::Ptr, Arg::Uint}};
  t[SYS_mprotect] = {"mprotect", sys_mprotect, {Arg::Ptr, Arg::Uint, Arg::Hex}};
  t[SYS_mremap] = {"mremap", sys_mremap, {Arg::Ptr, Arg::Uint, Arg::Uint, Arg::Hex, Arg::Ptr}, Arg::Hex};
  t[SYS_madvise] = {"madvise", sys_madvise, {Arg::Ptr, Arg::Uint, Arg::Int}};
}

}  // namespace vireo
