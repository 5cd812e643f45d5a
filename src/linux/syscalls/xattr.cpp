// Extended attributes: {get,set,list,remove}xattr on a path, on a path without following a
// final symlink (l*), and on an fd (f*). Names are NUL-terminated guest strings, values and
// lists are guest buffers; all pass through to the host, paths read with guest_path().
#include <sys/syscall.h>
#include <sys/xattr.h>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/syscalls/guest_path.h"
#include "linux/syscalls/host_call.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

// The attribute name (XATTR_NAME_MAX = 255 bytes): -ERANGE when longer, as the kernel says.
int read_name(Process& p, uint64_t addr, std::string& name) {
  if (!read_guest_string(p, addr, name, 256)) {
    std::string probe;
    return read_guest_string(p, addr, probe, 65536) ? -ERANGE : -EFAULT;
  }
  return name.size() > 255 ? -ERANGE : 0;
}

// The first argument of the path and l* forms is a path, of the f* form an fd.
template <long NR, bool kPath>
long target(Process& p, uint64_t arg, std::string& storage, int& err) {
  err = 0;
  if (!kPath) return long(arg);
  err = guest_path(p, arg, storage);
  return hp(storage.c_str());
}

template <long NR, bool kPath>
int64_t sys_getxattr(Process& p, const SyscallArgs& a) {
  std::string path, name;
  int err;
  long t = target<NR, kPath>(p, a.a[0], path, err);
  if (err) return err;
  if (int r = read_name(p, a.a[1], name)) return r;
  return host_call(NR, t, hp(name.c_str()), hp(a.a[3] ? host_arg(p, a.a[2], a.a[3]) : nullptr), a.a[3]);
}
template <long NR, bool kPath>
int64_t sys_setxattr(Process& p, const SyscallArgs& a) {
  std::string path, name;
  int err;
  long t = target<NR, kPath>(p, a.a[0], path, err);
  if (err) return err;
  if (int r = read_name(p, a.a[1], name)) return r;
  return host_call(NR, t, hp(name.c_str()), hp(host_opt(p, a.a[2], a.a[3])), a.a[3], a.a[4]);
}
template <long NR, bool kPath>
int64_t sys_listxattr(Process& p, const SyscallArgs& a) {
  std::string path;
  int err;
  long t = target<NR, kPath>(p, a.a[0], path, err);
  if (err) return err;
  return host_call(NR, t, hp(a.a[2] ? host_arg(p, a.a[1], a.a[2]) : nullptr), a.a[2]);
}
template <long NR, bool kPath>
int64_t sys_removexattr(Process& p, const SyscallArgs& a) {
  std::string path, name;
  int err;
  long t = target<NR, kPath>(p, a.a[0], path, err);
  if (err) return err;
  if (int r = read_name(p, a.a[1], name)) return r;
  return host_call(NR, t, hp(name.c_str()));
}

}  // namespace

void register_xattr_syscalls(SyscallTable& t) {
  t[SYS_getxattr] = {"getxattr", sys_getxattr<SYS_getxattr, true>, {Arg::Str, Arg::Str, Arg::Ptr, Arg::Uint}};
  t[SYS_lgetxattr] = {"lgetxattr", sys_getxattr<SYS_lgetxattr, true>, {Arg::Str, Arg::Str, Arg::Ptr, Arg::Uint}};
  t[SYS_fgetxattr] = {"fgetxattr", sys_getxattr<SYS_fgetxattr, false>, {Arg::Fd, Arg::Str, Arg::Ptr, Arg::Uint}};
  t[SYS_setxattr] = {"setxattr", sys_setxattr<SYS_setxattr, true>, {Arg::Str, Arg::Str, Arg::Ptr, Arg::Uint, Arg::Hex}};
  t[SYS_lsetxattr] = {"lsetxattr", sys_setxattr<SYS_lsetxattr, true>, {Arg::Str, Arg::Str, Arg::Ptr, Arg::Uint, Arg::Hex}};
  t[SYS_fsetxattr] = {"fsetxattr", sys_setxattr<SYS_fsetxattr, false>, {Arg::Fd, Arg::Str, Arg::Ptr, Arg::Uint, Arg::Hex}};
  t[SYS_listxattr] = {"listxattr", sys_listxattr<SYS_listxattr, true>, {Arg::Str, Arg::Ptr, Arg::Uint}};
  t[SYS_llistxattr] = {"llistxattr", sys_listxattr<SYS_llistxattr, true>, {Arg::Str, Arg::Ptr, Arg::Uint}};
  t[SYS_flistxattr] = {"flistxattr", sys_listxattr<SYS_flistxattr, false>, {Arg::Fd, Arg::Ptr, Arg::Uint}};
  t[SYS_removexattr] = {"removexattr", sys_removexattr<SYS_removexattr, true>, {Arg::Str, Arg::Str}};
  t[SYS_lremovexattr] = {"lremovexattr", sys_removexattr<SYS_lremovexattr, true>, {Arg::Str, Arg::Str}};
  t[SYS_fremovexattr] = {"fremovexattr", sys_removexattr<SYS_fremovexattr, false>, {Arg::Fd, Arg::Str}};
}

}  // namespace vireo
