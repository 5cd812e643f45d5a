// File calls beyond the basic set: pipe splicing (splice, tee, vmsplice), openat2, close_range,
// sync_file_range, the old getdents, futimesat, ustat, and file handles.
//
// All pass through: fds are the host's, struct linux_dirent and struct file_handle have the
// host layout. Paths are read with guest_path() so that the sysroot translation applies to them
// as to every other path-taking call; the structures that hold guest pointers (vmsplice's
// iovecs) or that the kernel checks by size (openat2's open_how) are rebuilt as host copies.
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <vector>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/syscalls/guest_path.h"
#include "linux/syscalls/host_call.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

int64_t sys_splice(Process& p, const SyscallArgs& a) {
  return blocking_call(SYS_splice, a.a[0], hp(host_opt(p, a.a[1], 8)), a.a[2], hp(host_opt(p, a.a[3], 8)),
                       a.a[4], a.a[5]);
}
int64_t sys_tee(Process&, const SyscallArgs& a) {
  return blocking_call(SYS_tee, a.a[0], a.a[1], a.a[2], a.a[3]);
}
int64_t sys_vmsplice(Process& p, const SyscallArgs& a) {
  if (a.a[2] > 1024) return -EINVAL;  // UIO_MAXIOV
  std::vector<iovec> iov(a.a[2]);
  for (uint64_t i = 0; i < a.a[2]; ++i) {
    uint64_t pair[2];
    if (!copy_from_guest(p, pair, a.a[1] + i * 16, 16)) return -EFAULT;
    iov[i] = {host_arg(p, pair[0], pair[1]), pair[1]};
  }
  return blocking_call(SYS_vmsplice, a.a[0], hp(iov.data()), iov.size(), a.a[3]);
}

// openat2(dirfd, path, how, size): struct open_how grows by appending fields; a larger struct
// than we know is accepted when the extra bytes are zero, else E2BIG (openat2(2)).
int64_t sys_openat2(Process& p, const SyscallArgs& a) {
  struct { uint64_t flags, mode, resolve; } how;
  constexpr uint64_t kVer0 = sizeof how;
  if (a.a[3] < kVer0) return -EINVAL;
  if (a.a[3] > 4096) return -E2BIG;  // the kernel's PAGE_SIZE limit
  if (!read_guest(p, a.a[2], how)) return -EFAULT;
  for (uint64_t off = kVer0; off < a.a[3]; ++off) {
    uint8_t b;
    if (!read_guest(p, a.a[2] + off, b)) return -EFAULT;
    if (b) return -E2BIG;
  }
  std::string path;
  if (int r = guest_path(p, a.a[1], path)) return r;
  return blocking_call(SYS_openat2, a.a[0], hp(path.c_str()), hp(&how), kVer0);
}

int64_t sys_close_range(Process&, const SyscallArgs& a) {
  return host_call(SYS_close_range, a.a[0], a.a[1], a.a[2]);
}
int64_t sys_sync_file_range(Process&, const SyscallArgs& a) {
  return host_call(SYS_sync_file_range, a.a[0], a.a[1], a.a[2], a.a[3]);
}
int64_t sys_getdents(Process& p, const SyscallArgs& a) {
  return host_call(SYS_getdents, a.a[0], hp(host_arg(p, a.a[1], a.a[2])), a.a[2]);
}
int64_t sys_futimesat(Process& p, const SyscallArgs& a) {
  std::string path;
  const char* hpath = nullptr;  // NULL: the fd itself, as for utimensat
  if (a.a[1]) {
    if (int r = guest_path(p, a.a[1], path)) return r;
    hpath = path.c_str();
  }
  return host_call(SYS_futimesat, a.a[0], hp(hpath), hp(host_opt(p, a.a[2], 32)));
}

// struct file_handle {u32 handle_bytes; int handle_type; u8 f_handle[]}: the guest says how
// much room it has in handle_bytes.
int64_t sys_name_to_handle_at(Process& p, const SyscallArgs& a) {
  uint32_t room;
  if (!read_guest(p, a.a[2], room)) return -EFAULT;
  std::string path;
  if (int r = guest_path(p, a.a[1], path)) return r;
  return host_call(SYS_name_to_handle_at, a.a[0], hp(path.c_str()),
                   hp(host_arg(p, a.a[2], 8 + uint64_t(std::min<uint32_t>(room, 128)))),
                   hp(host_arg(p, a.a[3], 4)), a.a[4]);
}
int64_t sys_open_by_handle_at(Process& p, const SyscallArgs& a) {
  uint32_t size;
  if (!read_guest(p, a.a[1], size)) return -EFAULT;
  return host_call(SYS_open_by_handle_at, a.a[0],
                   hp(host_arg(p, a.a[1], 8 + uint64_t(std::min<uint32_t>(size, 128)))), a.a[2]);
}

// ustat(dev, struct ustat*): 32 bytes filled in by the kernel.
int64_t sys_ustat(Process& p, const SyscallArgs& a) {
  return host_call(SYS_ustat, a.a[0], hp(host_arg(p, a.a[1], 32)));
}

}  // namespace

void register_fs_extra_syscalls(SyscallTable& t) {
  t[SYS_splice] = {"splice", sys_splice, {Arg::Fd, Arg::Ptr, Arg::Fd, Arg::Ptr, Arg::Uint, Arg::Hex}};
  t[SYS_tee] = {"tee", sys_tee, {Arg::Fd, Arg::Fd, Arg::Uint, Arg::Hex}};
  t[SYS_vmsplice] = {"vmsplice", sys_vmsplice, {Arg::Fd, Arg::Ptr, Arg::Uint, Arg::Hex}};
  t[SYS_openat2] = {"openat2", sys_openat2, {Arg::Fd, Arg::Str, Arg::Ptr, Arg::Uint}};
  t[SYS_close_range] = {"close_range", sys_close_range, {Arg::Uint, Arg::Uint, Arg::Hex}};
  t[SYS_sync_file_range] = {"sync_file_range", sys_sync_file_range, {Arg::Fd, Arg::Long, Arg::Long, Arg::Hex}};
  t[SYS_getdents] = {"getdents", sys_getdents, {Arg::Fd, Arg::Ptr, Arg::Uint}};
  t[SYS_futimesat] = {"futimesat", sys_futimesat, {Arg::Fd, Arg::Str, Arg::Ptr}};
  t[SYS_name_to_handle_at] = {"name_to_handle_at", sys_name_to_handle_at, {Arg::Fd, Arg::Str, Arg::Ptr, Arg::Ptr, Arg::Hex}};
  t[SYS_ustat] = {"ustat", sys_ustat, {Arg::Hex, Arg::Ptr}};
  t[SYS_open_by_handle_at] = {"open_by_handle_at", sys_open_by_handle_at, {Arg::Fd, Arg::Ptr, Arg::Hex}};
}

}  // namespace vireo
