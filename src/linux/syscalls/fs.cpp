// File-system and file-descriptor system calls. Guest fds are host fds.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vector>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/syscalls/host_result.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

int64_t sys_read(Process& p, const SyscallArgs& a) {
  void* buf = guest_ptr(p, a.a[1], a.a[2]);
  if (!buf && a.a[2]) return -EFAULT;
  return host_result(::read(int(a.a[0]), buf, a.a[2]));
}

int64_t sys_write(Process& p, const SyscallArgs& a) {
  void* buf = guest_ptr(p, a.a[1], a.a[2]);
  if (!buf && a.a[2]) return -EFAULT;
  return host_result(::write(int(a.a[0]), buf, a.a[2]));
}

// Translates a guest iovec array into host iovecs. Returns -errno or the count.
int64_t guest_iov(Process& p, uint64_t addr, uint64_t count, std::vector<iovec>& out) {
  if (count > IOV_MAX) return -EINVAL;
  out.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t pair[2];
    if (!copy_from_guest(p, pair, addr + i * 16, 16)) return -EFAULT;
    void* b = guest_ptr(p, pair[0], pair[1]);
    if (!b && pair[1]) return -EFAULT;
    out[i] = {b, pair[1]};
  }
  return int64_t(count);
}

int64_t sys_writev(Process& p, const SyscallArgs& a) {
  std::vector<iovec> iov;
  if (int64_t r = guest_iov(p, a.a[1], a.a[2], iov); r < 0) return r;
  return host_result(::writev(int(a.a[0]), iov.data(), int(iov.size())));
}

int64_t sys_readv(Process& p, const SyscallArgs& a) {
  std::vector<iovec> iov;
  if (int64_t r = guest_iov(p, a.a[1], a.a[2], iov); r < 0) return r;
  return host_result(::readv(int(a.a[0]), iov.data(), int(iov.size())));
}

int64_t sys_close(Process& p, const SyscallArgs& a) { return host_result(::close(int(a.a[0]))); }

int64_t sys_fstat(Process& p, const SyscallArgs& a) {
  struct stat st;
  int64_t r = host_result(::fstat(int(a.a[0]), &st));
  if (r == 0 && !copy_to_guest(p, a.a[1], &st, sizeof st)) return -EFAULT;
  return r;
}

}  // namespace

void register_fs_syscalls(SyscallTable& t) {
  t[SYS_read] = {"read", sys_read, {Arg::Fd, Arg::Buf, Arg::Uint}};
  t[SYS_write] = {"write", sys_write, {Arg::Fd, Arg::Buf, Arg::Uint}};
  t[SYS_readv] = {"readv", sys_readv, {Arg::Fd, Arg::Ptr, Arg::Uint}};
  t[SYS_writev] = {"writev", sys_writev, {Arg::Fd, Arg::Ptr, Arg::Uint}};
  t[SYS_close] = {"close", sys_close, {Arg::Fd}};
  t[SYS_fstat] = {"fstat", sys_fstat, {Arg::Fd, Arg::Ptr}};
}

}  // namespace vireo
