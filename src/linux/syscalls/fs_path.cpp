// Path-based file-system system calls: open, stat, access, directories, links, renames,
// permissions, times. Paths are read with guest_path() (which also redirects /proc/self/exe to
// the guest program); everything else passes through to the host kernel. Opening a FIFO waits
// for the other end: the opens go through blocking_call (host_call.h).
#include <fcntl.h>
#include <linux/stat.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/procfs.h"
#include "linux/syscalls/guest_path.h"
#include "linux/syscalls/host_call.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

int64_t host_syscall(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
  return host_result(::syscall(nr, a, b, c, d, e));
}
long L(const void* p) { return long(reinterpret_cast<uintptr_t>(p)); }
long S(const std::string& s) { return L(s.c_str()); }

// Reads path argument `i` into `out`, or returns from the handler with its error.
#define PATH_ARG(name, i)              \
  std::string name;                    \
  if (int e_ = guest_path(p, a.a[i], name)) return e_

int64_t sys_open(Process& p, const SyscallArgs& a) {
  PATH_ARG(path, 0);
  if (auto fd = procfs_open(p, path, int(a.a[1]))) return *fd;
  return blocking_call(SYS_openat, AT_FDCWD, S(path), long(a.a[1]), long(a.a[2]));
}
int64_t sys_creat(Process& p, const SyscallArgs& a) {
  PATH_ARG(path, 0);
  return blocking_call(SYS_openat, AT_FDCWD, S(path), O_CREAT | O_WRONLY | O_TRUNC, long(a.a[1]));
}
int64_t sys_openat(Process& p, const SyscallArgs& a) {
  PATH_ARG(path, 1);
  if (auto fd = procfs_open(p, path, int(a.a[2]))) return *fd;
  return blocking_call(SYS_openat, long(a.a[0]), S(path), long(a.a[2]), long(a.a[3]));
}

int64_t sys_stat(Process& p, const SyscallArgs& a) {
  PATH_ARG(path, 0);
  return host_syscall(SYS_newfstatat, AT_FDCWD, S(path), L(host_arg(p, a.a[1], sizeof(struct stat))), 0);
}
int64_t sys_lstat(Process& p, const SyscallArgs& a) {
  PATH_ARG(path, 0);
  return host_syscall(SYS_newfstatat, AT_FDCWD, S(path), L(host_arg(p, a.a[1], sizeof(struct stat))),
                      AT_SYMLINK_NOFOLLOW);
}
int64_t sys_newfstatat(Process& p, const SyscallArgs& a) {
  PATH_ARG(path, 1);
  return host_syscall(SYS_newfstatat, long(a.a[0]), S(path),
                      L(host_arg(p, a.a[2], sizeof(struct stat))), long(a.a[3]));
}
int64_t sys_statx(Process& p, const SyscallArgs& a) {
  PATH_ARG(path, 1);
  return host_syscall(SYS_statx, long(a.a[0]), S(path), long(a.a[2]), long(a.a[3]),
                      L(host_arg(p, a.a[4], sizeof(struct statx))));
}
int64_t sys_statfs(Process& p, const SyscallArgs& a) {
  PATH_ARG(path, 0);
  return host_syscall(SYS_statfs, S(path), L(host_arg(p, a.a[1], 120)));
}

int64_t sys_access(Process& p, const SyscallArgs& a) {
  PATH_ARG(path, 0);
  return host_syscall(SYS_faccessat, AT_FDCWD, S(path), long(a.a[1]));
}
int64_t sys_faccessat(Process& p, const SyscallArgs& a) {
  PATH_ARG(path, 1);
  return host_syscall(SYS_faccessat, long(a.a[0]), S(path), long(a.a[2]));
}
int64_t sys_faccessat2(Process& p, const SyscallArgs& a) {
  PATH_ARG(path, 1);
  return host_syscall(SYS_faccessat2, long(a.a[0]), S(path), long(a.a[2]), long(a.a[3]));
}

int64_t sys_getcwd(Process& p, const SyscallArgs& a) {
  return host_syscall(SYS_getcwd, L(host_arg(p, a.a[0], a.a[1])), long(a.a[1]));
}
int64_t sys_chdir(Process& p, const SyscallArgs& a) {
  PATH_ARG(path, 0);
  return host_syscall(SYS_chdir, S(path));
}
int64_t sys_chroot(Process& p, const SyscallArgs& a) {
  PATH_ARG(path, 0);
  return host_syscall(SYS_chroot, S(path));
}

// The one-path calls of the form f(path, int...) and their *at forms f(dirfd, path, int...).
template <long NR>
int64_t sys_path1(Process& p, const SyscallArgs& a) {
  PATH_ARG(path, 0);
  return host_syscall(NR, S(path), long(a.a[1]), long(a.a[2]));
}
template <long NR>
int64_t sys_at_path1(Process& p, const SyscallArgs& a) {
  PATH_ARG(path, 1);
  return host_syscall(NR, long(a.a[0]), S(path), long(a.a[2]), long(a.a[3]), long(a.a[4]));
}

// Two-path calls: f(old, new) and f(olddirfd, old, newdirfd, new, flags).
template <long NR>
int64_t sys_path2(Process& p, const SyscallArgs& a) {
  PATH_ARG(from, 0);
  PATH_ARG(to, 1);
  return host_syscall(NR, S(from), S(to));
}
template <long NR>
int64_t sys_at_path2(Process& p, const SyscallArgs& a) {
  PATH_ARG(from, 1);
  PATH_ARG(to, 3);
  return host_syscall(NR, long(a.a[0]), S(from), long(a.a[2]), S(to), long(a.a[4]));
}
int64_t sys_symlinkat(Process& p, const SyscallArgs& a) {
  // The target is stored as text, not resolved: no /proc/self/exe redirection for it.
  std::string target;
  if (int e = read_guest_path(p, a.a[0], target)) return e;
  PATH_ARG(link, 2);
  return host_syscall(SYS_symlinkat, S(target), long(a.a[1]), S(link));
}
int64_t sys_symlink(Process& p, const SyscallArgs& a) {
  std::string target;
  if (int e = read_guest_path(p, a.a[0], target)) return e;
  PATH_ARG(link, 1);
  return host_syscall(SYS_symlinkat, S(target), AT_FDCWD, S(link));
}

// readlink of /proc/self/exe must name the guest program, not the vireo binary.
int64_t do_readlink(Process& p, long dirfd, uint64_t path_addr, uint64_t buf, uint64_t size) {
  std::string path;
  if (int e = read_guest_path(p, path_addr, path)) return e;
  if (int64_t(size) <= 0) return -EINVAL;
  if (names_proc_self_exe(path)) {
    size_t n = std::min<size_t>(p.exe_path.size(), size);
    return copy_to_guest(p, buf, p.exe_path.data(), n) ? int64_t(n) : -EFAULT;
  }
  if (auto peer = procfs_exe_link(p, path)) {  // a thread's, another guest's program
    size_t n = std::min<size_t>(peer->size(), size);
    return copy_to_guest(p, buf, peer->data(), n) ? int64_t(n) : -EFAULT;
  }
  path = sysroot_path(path);
  return host_syscall(SYS_readlinkat, dirfd, S(path), L(host_arg(p, buf, size)), long(size));
}
int64_t sys_readlink(Process& p, const SyscallArgs& a) {
  return do_readlink(p, AT_FDCWD, a.a[0], a.a[1], a.a[2]);
}
int64_t sys_readlinkat(Process& p, const SyscallArgs& a) {
  return do_readlink(p, long(a.a[0]), a.a[1], a.a[2], a.a[3]);
}

int64_t sys_utimensat(Process& p, const SyscallArgs& a) {
  // A NULL path means "the file dirfd refers to" (futimens).
  std::string path;
  const char* hp = nullptr;
  if (a.a[1]) {
    if (int e = guest_path(p, a.a[1], path)) return e;
    hp = path.c_str();
  }
  return host_syscall(SYS_utimensat, long(a.a[0]), L(hp), L(host_opt(p, a.a[2], 32)), long(a.a[3]));
}
int64_t sys_utimes(Process& p, const SyscallArgs& a) {
  PATH_ARG(path, 0);
  return host_syscall(SYS_utimes, S(path), L(host_opt(p, a.a[1], 32)));
}
int64_t sys_utime(Process& p, const SyscallArgs& a) {
  PATH_ARG(path, 0);
  return host_syscall(SYS_utime, S(path), L(host_opt(p, a.a[1], 16)));
}


int64_t sys_umask(Process&, const SyscallArgs& a) { return ::umask(mode_t(a.a[0] & 0777)); }

}  // namespace

void register_fs_path_syscalls(SyscallTable& t) {
  t[SYS_open] = {"open", sys_open, {Arg::Str, Arg::Hex, Arg::Oct}};
  t[SYS_creat] = {"creat", sys_creat, {Arg::Str, Arg::Oct}};
  t[SYS_openat] = {"openat", sys_openat, {Arg::Fd, Arg::Str, Arg::Hex, Arg::Oct}};
  t[SYS_stat] = {"stat", sys_stat, {Arg::Str, Arg::Ptr}};
  t[SYS_lstat] = {"lstat", sys_lstat, {Arg::Str, Arg::Ptr}};
  t[SYS_newfstatat] = {"newfstatat", sys_newfstatat, {Arg::Fd, Arg::Str, Arg::Ptr, Arg::Hex}};
  t[SYS_statx] = {"statx", sys_statx, {Arg::Fd, Arg::Str, Arg::Hex, Arg::Hex, Arg::Ptr}};
  t[SYS_statfs] = {"statfs", sys_statfs, {Arg::Str, Arg::Ptr}};
  t[SYS_access] = {"access", sys_access, {Arg::Str, Arg::Oct}};
  t[SYS_faccessat] = {"faccessat", sys_faccessat, {Arg::Fd, Arg::Str, Arg::Oct}};
  t[SYS_faccessat2] = {"faccessat2", sys_faccessat2, {Arg::Fd, Arg::Str, Arg::Oct, Arg::Hex}};
  t[SYS_getcwd] = {"getcwd", sys_getcwd, {Arg::Ptr, Arg::Uint}};
  t[SYS_chdir] = {"chdir", sys_chdir, {Arg::Str}};
  t[SYS_chroot] = {"chroot", sys_chroot, {Arg::Str}};
  t[SYS_mkdir] = {"mkdir", sys_path1<SYS_mkdir>, {Arg::Str, Arg::Oct}};
  t[SYS_mkdirat] = {"mkdirat", sys_at_path1<SYS_mkdirat>, {Arg::Fd, Arg::Str, Arg::Oct}};
  t[SYS_mknod] = {"mknod", sys_path1<SYS_mknod>, {Arg::Str, Arg::Oct, Arg::Hex}};
  t[SYS_mknodat] = {"mknodat", sys_at_path1<SYS_mknodat>, {Arg::Fd, Arg::Str, Arg::Oct, Arg::Hex}};
  t[SYS_rmdir] = {"rmdir", sys_path1<SYS_rmdir>, {Arg::Str}};
  t[SYS_unlink] = {"unlink", sys_path1<SYS_unlink>, {Arg::Str}};
  t[SYS_unlinkat] = {"unlinkat", sys_at_path1<SYS_unlinkat>, {Arg::Fd, Arg::Str, Arg::Hex}};
  t[SYS_chmod] = {"chmod", sys_path1<SYS_chmod>, {Arg::Str, Arg::Oct}};
  t[SYS_fchmodat] = {"fchmodat", sys_at_path1<SYS_fchmodat>, {Arg::Fd, Arg::Str, Arg::Oct}};
  t[SYS_chown] = {"chown", sys_path1<SYS_chown>, {Arg::Str, Arg::Int, Arg::Int}};
  t[SYS_lchown] = {"lchown", sys_path1<SYS_lchown>, {Arg::Str, Arg::Int, Arg::Int}};
  t[SYS_fchownat] = {"fchownat", sys_at_path1<SYS_fchownat>, {Arg::Fd, Arg::Str, Arg::Int, Arg::Int, Arg::Hex}};
  t[SYS_truncate] = {"truncate", sys_path1<SYS_truncate>, {Arg::Str, Arg::Long}};
  t[SYS_rename] = {"rename", sys_path2<SYS_rename>, {Arg::Str, Arg::Str}};
  t[SYS_renameat] = {"renameat", sys_at_path2<SYS_renameat>, {Arg::Fd, Arg::Str, Arg::Fd, Arg::Str}};
  t[SYS_renameat2] = {"renameat2", sys_at_path2<SYS_renameat2>, {Arg::Fd, Arg::Str, Arg::Fd, Arg::Str, Arg::Hex}};
  t[SYS_link] = {"link", sys_path2<SYS_link>, {Arg::Str, Arg::Str}};
  t[SYS_linkat] = {"linkat", sys_at_path2<SYS_linkat>, {Arg::Fd, Arg::Str, Arg::Fd, Arg::Str, Arg::Hex}};
  t[SYS_symlink] = {"symlink", sys_symlink, {Arg::Str, Arg::Str}};
  t[SYS_symlinkat] = {"symlinkat", sys_symlinkat, {Arg::Str, Arg::Fd, Arg::Str}};
  t[SYS_readlink] = {"readlink", sys_readlink, {Arg::Str, Arg::Ptr, Arg::Uint}};
  t[SYS_readlinkat] = {"readlinkat", sys_readlinkat, {Arg::Fd, Arg::Str, Arg::Ptr, Arg::Uint}};
  t[SYS_utimensat] = {"utimensat", sys_utimensat, {Arg::Fd, Arg::Str, Arg::Ptr, Arg::Hex}};
  t[SYS_utimes] = {"utimes", sys_utimes, {Arg::Str, Arg::Ptr}};
  t[SYS_utime] = {"utime", sys_utime, {Arg::Str, Arg::Ptr}};
  t[SYS_umask] = {"umask", sys_umask, {Arg::Oct}, Arg::Oct};
}

}  // namespace vireo
