// File-descriptor system calls: I/O, seeking, duplication, pipes, fcntl, terminal ioctls,
// polling. Guest fds are host fds, so these pass through to the host kernel; guest buffers are
// handed over as host pointers into the guest window (host_arg), where a bad guest pointer makes
// the host kernel itself answer EFAULT. The calls that can block on a pipe, socket, terminal
// or lock go through blocking_call (host_call.h).
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/syscalls/host_call.h"
#include "linux/syscalls/mask_wait.h"
#include "linux/syscalls/syscall_table.h"
#include "support/fork_safe_mutex.h"
#include "support/diag_stream.h"

namespace vireo {

namespace {

int64_t host_syscall(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0,
                     long f = 0) {
  return host_result(::syscall(nr, a, b, c, d, e, f));
}
long L(void* p) { return long(reinterpret_cast<uintptr_t>(p)); }

int64_t sys_read(Process& p, const SyscallArgs& a) {
  return blocking_call(SYS_read, long(a.a[0]), L(host_arg(p, a.a[1], a.a[2])), long(a.a[2]));
}
int64_t sys_write(Process& p, const SyscallArgs& a) {
  return blocking_call(SYS_write, long(a.a[0]), L(host_arg(p, a.a[1], a.a[2])), long(a.a[2]));
}
int64_t sys_pread64(Process& p, const SyscallArgs& a) {
  return blocking_call(SYS_pread64, long(a.a[0]), L(host_arg(p, a.a[1], a.a[2])), long(a.a[2]),
                       long(a.a[3]));
}
int64_t sys_pwrite64(Process& p, const SyscallArgs& a) {
  return blocking_call(SYS_pwrite64, long(a.a[0]), L(host_arg(p, a.a[1], a.a[2])), long(a.a[2]),
                       long(a.a[3]));
}

// Translates a guest iovec array into host iovecs. Returns -errno or the count.
int64_t guest_iov(Process& p, uint64_t addr, uint64_t count, std::vector<iovec>& out) {
  if (count > IOV_MAX) return -EINVAL;
  out.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t pair[2];
    if (!copy_from_guest(p, pair, addr + i * 16, 16)) return -EFAULT;
    out[i] = {host_arg(p, pair[0], pair[1]), pair[1]};
  }
  return int64_t(count);
}

template <long NR>
int64_t sys_vector_io(Process& p, const SyscallArgs& a) {
  std::vector<iovec> iov;
  if (int64_t r = guest_iov(p, a.a[1], a.a[2], iov); r < 0) return r;
  return blocking_call(NR, long(a.a[0]), L(iov.data()), long(iov.size()), long(a.a[3]),
                       long(a.a[4]), long(a.a[5]));
}

// Calls whose arguments are all plain integers pass straight through.
template <long NR>
int64_t sys_plain(Process&, const SyscallArgs& a) {
  return host_syscall(NR, long(a.a[0]), long(a.a[1]), long(a.a[2]), long(a.a[3]), long(a.a[4]),
                      long(a.a[5]));
}

// flock(2) waits for the lock unless LOCK_NB.
int64_t sys_flock(Process&, const SyscallArgs& a) {
  return blocking_call(SYS_flock, long(a.a[0]), long(a.a[1]));
}

int64_t sys_pipe2(Process& p, const SyscallArgs& a) {
  return host_syscall(SYS_pipe2, L(host_arg(p, a.a[0], 8)), long(a.a[1]));
}
int64_t sys_pipe(Process& p, const SyscallArgs& a) {
  return host_syscall(SYS_pipe2, L(host_arg(p, a.a[0], 8)), 0);
}

int64_t sys_fcntl(Process& p, const SyscallArgs& a) {
  int cmd = int(a.a[1]);
  switch (cmd) {
    // Commands that take a pointer to struct flock (same layout on guest and host); F_SETLKW
    // and F_OFD_SETLKW wait for the lock.
    case F_GETLK: case F_SETLK: case F_SETLKW:
    case F_OFD_GETLK: case F_OFD_SETLK: case F_OFD_SETLKW:
      return blocking_call(SYS_fcntl, long(a.a[0]), cmd, L(host_arg(p, a.a[2], sizeof(struct flock))));
    case F_GETOWN_EX: case F_SETOWN_EX:
      return host_syscall(SYS_fcntl, long(a.a[0]), cmd, L(host_arg(p, a.a[2], sizeof(f_owner_ex))));
    case F_DUPFD: case F_DUPFD_CLOEXEC: case F_GETFD: case F_SETFD: case F_GETFL: case F_SETFL:
    case F_GETOWN: case F_SETOWN: case F_GETSIG: case F_SETSIG: case F_GETLEASE:
    case F_SETLEASE: case F_NOTIFY: case F_GETPIPE_SZ: case F_SETPIPE_SZ: case F_ADD_SEALS:
    case F_GET_SEALS:
      return host_syscall(SYS_fcntl, long(a.a[0]), cmd, long(a.a[2]));
    default: return -EINVAL;
  }
}

// _IOR('T', 0x2A, struct termios2) and the three setters after it.
constexpr unsigned long kTCGETS2 = 0x802c542a, kTCSETS2 = 0x402c542b, kTCSETSW2 = 0x402c542c,
                        kTCSETSF2 = 0x402c542d;
// FIGETBSZ (<linux/fs.h>, which clashes with <sys/mount.h> users): the block size, an int.
constexpr unsigned long kFIGETBSZ = 2;

// Block-device and file-system ioctls that tools such as e2fsck, mkfs and cp ask of any file
// (a regular file answers ENOTTY, a block device its geometry), with the size of what the
// kernel reads or writes (<linux/fs.h>, <linux/fd.h>). None holds a pointer.
struct SizedIoctl {
  unsigned long req;
  size_t size;  // 0: no argument memory
};
constexpr SizedIoctl kBlockIoctls[] = {
    {0x125e, 4},        // BLKROGET: int
    {0x1260, 8},        // BLKGETSIZE: unsigned long, in 512-byte sectors
    {0x1261, 0},        // BLKFLSBUF
    {0x1263, 8},        // BLKRAGET: long
    {0x1268, 4},        // BLKSSZGET: int
    {0x80081270, 8},    // BLKBSZGET: size_t
    {0x80081272, 8},    // BLKGETSIZE64: u64
    {0x1278, 4},        // BLKIOMIN: unsigned int
    {0x1279, 4},        // BLKIOOPT
    {0x127a, 4},        // BLKALIGNOFF: int
    {0x127b, 4},        // BLKPBSZGET: unsigned int
    {0x127c, 4},        // BLKDISCARDZEROES: unsigned int
    {0x80200204, 32},   // FDGETPRM: struct floppy_struct
    {0x80086601, 4},    // FS_IOC_GETFLAGS: the kernel moves an int, whatever the name says
    {0x40086602, 4},    // FS_IOC_SETFLAGS
    {0x80087601, 4},    // FS_IOC_GETVERSION
    {0x40087602, 4},    // FS_IOC_SETVERSION
    {0x801c581f, 28},   // FS_IOC_FSGETXATTR: struct fsxattr
    {0x401c5820, 28},   // FS_IOC_FSSETXATTR
    {0xc0185879, 24},   // FITRIM: struct fstrim_range
    {0x4020940d, 32},   // FICLONERANGE: struct file_clone_range
};
constexpr unsigned long kFICLONE = 0x40049409;  // its argument is an fd, not a pointer

// SIOCGIFCONF: struct ifconf {int ifc_len; char* ifc_buf} holds a guest pointer to the
// buffer of struct ifreq; the kernel updates ifc_len (netdevice(7)).
int64_t ioctl_ifconf(Process& p, int fd, uint64_t addr) {
  struct { int32_t len, pad; uint64_t buf; } g;
  static_assert(sizeof g == sizeof(struct ifconf));
  if (!read_guest(p, addr, g)) return -EFAULT;
  struct ifconf h {};
  h.ifc_len = g.len;
  h.ifc_buf = static_cast<char*>(host_opt(p, g.buf, uint32_t(std::max(g.len, 0))));
  int64_t r = blocking_call(SYS_ioctl, fd, SIOCGIFCONF, L(&h));
  if (r < 0) return r;
  g.len = h.ifc_len;
  return write_guest(p, addr, g) ? r : -EFAULT;
}

// Terminal, fd and socket ioctls whose argument size is known. Anything else is refused:
// passing an untranslated guest pointer to the host could make the kernel write into Vireo's
// own memory. The interface-changing socket ioctls (SIOCSIF*) are refused with EPERM, as for a
// caller without CAP_NET_ADMIN: Vireo does not hand the host's network configuration to a guest.
// Some wait (TCSBRK, TCSETSW: until the terminal's output drains), so all go through
// blocking_call.
int64_t sys_ioctl(Process& p, const SyscallArgs& a) {
  // ioctl(unsigned int fd, unsigned int cmd, unsigned long arg): the kernel takes 32 bits of the
  // command, and musl passes it as a sign-extended int (0x80081272 arrives as 0xffffffff80081272).
  unsigned long req = uint32_t(a.a[1]);
  for (const SizedIoctl& k : kBlockIoctls)
    if (k.req == req)
      return blocking_call(SYS_ioctl, long(a.a[0]), long(req),
                           k.size ? L(host_arg(p, a.a[2], k.size)) : 0);
  size_t size;
  switch (req) {
    case kFICLONE: return blocking_call(SYS_ioctl, long(a.a[0]), long(req), long(a.a[2]));
    case SIOCGIFCONF: return ioctl_ifconf(p, int(a.a[0]), a.a[2]);
    case SIOCGIFNAME: case SIOCGIFINDEX: case SIOCGIFFLAGS: case SIOCGIFADDR:
    case SIOCGIFDSTADDR: case SIOCGIFBRDADDR: case SIOCGIFNETMASK: case SIOCGIFMETRIC:
    case SIOCGIFMTU: case SIOCGIFHWADDR: case SIOCGIFTXQLEN: case SIOCGIFMAP:
      size = sizeof(struct ifreq); break;
    case SIOCSIFFLAGS: case SIOCSIFADDR: case SIOCSIFDSTADDR: case SIOCSIFBRDADDR:
    case SIOCSIFNETMASK: case SIOCSIFMETRIC: case SIOCSIFMTU: case SIOCSIFHWADDR:
    case SIOCSIFTXQLEN: case SIOCSIFNAME: case SIOCSIFMAP: case SIOCADDRT: case SIOCDELRT:
      return -EPERM;
    case SIOCATMARK: case SIOCGPGRP: case SIOCSPGRP: case FIOGETOWN: case FIOSETOWN:
    case FIOASYNC:
      size = sizeof(int); break;
    case SIOCGSTAMP_OLD: case SIOCGSTAMPNS_OLD: case SIOCGSTAMP_NEW: case SIOCGSTAMPNS_NEW:
      size = 16; break;
    case TCGETS: case TCSETS: case TCSETSW: case TCSETSF: size = sizeof(struct termios); break;
    case TIOCGWINSZ: case TIOCSWINSZ: size = sizeof(struct winsize); break;
    case TIOCGPGRP: case TIOCSPGRP: case TIOCGSID: case FIONREAD: case FIONBIO: case TIOCOUTQ:
    case TIOCGPTN: case TIOCSPTLCK: case TIOCMGET: case TIOCMSET: case TIOCMBIS: case TIOCMBIC:
    case TIOCGETD: case TIOCSETD: case TIOCPKT: case TIOCGPKT: case TIOCGEXCL: case TIOCGDEV:
    case TIOCGPTLCK: case kFIGETBSZ:
      size = sizeof(int); break;
    case TIOCSTI: size = 1; break;
    case FIOQSIZE: size = 8; break;
    // The kernel's struct termios (36 bytes) for the locking pair, struct termios2 (44 bytes)
    // for the termios2 calls (<asm/termbits.h>, whose names clash with <termios.h>).
    case TIOCGLCKTRMIOS: case TIOCSLCKTRMIOS: size = 36; break;
    case kTCGETS2: case kTCSETS2: case kTCSETSW2: case kTCSETSF2: size = 44; break;
    case FIOCLEX: case FIONCLEX: case TIOCNOTTY: case TIOCEXCL: case TIOCNXCL: case TIOCCONS:
    case TIOCSBRK: case TIOCCBRK:
      return blocking_call(SYS_ioctl, long(a.a[0]), long(req), 0);
    case TCFLSH: case TCXONC: case TCSBRK: case TCSBRKP: case TIOCSCTTY: case TIOCGPTPEER:
      return blocking_call(SYS_ioctl, long(a.a[0]), long(req), long(a.a[2]));
    default:
      // A command not listed: the kernel looks the descriptor up first (EBADF), then answers
      // ENOTTY for a command the file does not know, silently. Programs probe ioctls on
      // purpose, so Vireo stays silent too (--strace shows the call and its -ENOTTY).
      if (host_syscall(SYS_fcntl, long(int(a.a[0])), F_GETFD) < 0) return -EBADF;
      return -ENOTTY;
  }
  return blocking_call(SYS_ioctl, long(a.a[0]), long(req), L(host_arg(p, a.a[2], size)));
}

// nfds is an unsigned int: the kernel sees only the low 32 bits of the register.
int64_t sys_poll(Process& p, const SyscallArgs& a) {
  const uint32_t nfds = uint32_t(a.a[1]);
  return blocking_call(SYS_poll, L(host_arg(p, a.a[0], uint64_t(nfds) * sizeof(pollfd))),
                       long(nfds), long(int(a.a[2])));
}

int64_t sys_ppoll(Process& p, const SyscallArgs& a) {
  const uint32_t nfds = uint32_t(a.a[1]);
  void* fds = host_arg(p, a.a[0], uint64_t(nfds) * sizeof(pollfd));
  void* timeout = host_opt(p, a.a[2], 16);
  return wait_with_guest_mask(p, a.a[3], a.a[4], [&](uint64_t* mask) {
    return blocking_call(SYS_ppoll, L(fds), long(nfds), L(timeout), L(mask), 8);
  });
}

int64_t sys_select(Process& p, const SyscallArgs& a) {
  size_t bytes = (std::min<uint64_t>(a.a[0], FD_SETSIZE * 8) + 63) / 64 * 8;
  return blocking_call(SYS_select, long(a.a[0]), L(host_opt(p, a.a[1], bytes)),
                       L(host_opt(p, a.a[2], bytes)), L(host_opt(p, a.a[3], bytes)),
                       L(host_opt(p, a.a[4], 16)));
}

int64_t sys_pselect6(Process& p, const SyscallArgs& a) {
  size_t bytes = (std::min<uint64_t>(a.a[0], FD_SETSIZE * 8) + 63) / 64 * 8;
  // The sixth argument points at {const sigset_t* ss; size_t ss_len}.
  uint64_t sig[2] = {0, 8};
  if (a.a[5] && !copy_from_guest(p, sig, a.a[5], 16)) return -EFAULT;
  void *r = host_opt(p, a.a[1], bytes), *w = host_opt(p, a.a[2], bytes), *e = host_opt(p, a.a[3], bytes);
  void* timeout = host_opt(p, a.a[4], 16);
  return wait_with_guest_mask(p, sig[0], sig[1], [&](uint64_t* mask) {
    uint64_t host_sig[2] = {reinterpret_cast<uint64_t>(mask), 8};
    return blocking_call(SYS_pselect6, long(a.a[0]), L(r), L(w), L(e), L(timeout),
                         mask ? L(host_sig) : 0);
  });
}

int64_t sys_sendfile(Process& p, const SyscallArgs& a) {
  return blocking_call(SYS_sendfile, long(a.a[0]), long(a.a[1]), L(host_opt(p, a.a[2], 8)),
                       long(a.a[3]));
}

int64_t sys_copy_file_range(Process& p, const SyscallArgs& a) {
  return blocking_call(SYS_copy_file_range, long(a.a[0]), L(host_opt(p, a.a[1], 8)), long(a.a[2]),
                       L(host_opt(p, a.a[3], 8)), long(a.a[4]), long(a.a[5]));
}

int64_t sys_getdents64(Process& p, const SyscallArgs& a) {
  return host_syscall(SYS_getdents64, long(a.a[0]), L(host_arg(p, a.a[1], a.a[2])), long(a.a[2]));
}

int64_t sys_fstat(Process& p, const SyscallArgs& a) {
  return host_syscall(SYS_fstat, long(a.a[0]), L(host_arg(p, a.a[1], sizeof(struct stat))));
}

int64_t sys_fstatfs(Process& p, const SyscallArgs& a) {
  return host_syscall(SYS_fstatfs, long(a.a[0]), L(host_arg(p, a.a[1], 120)));
}

}  // namespace

void register_fs_fd_syscalls(SyscallTable& t) {
  t[SYS_read] = {"read", sys_read, {Arg::Fd, Arg::Buf, Arg::Uint}};
  t[SYS_write] = {"write", sys_write, {Arg::Fd, Arg::Buf, Arg::Uint}};
  t[SYS_pread64] = {"pread64", sys_pread64, {Arg::Fd, Arg::Buf, Arg::Uint, Arg::Long}};
  t[SYS_pwrite64] = {"pwrite64", sys_pwrite64, {Arg::Fd, Arg::Buf, Arg::Uint, Arg::Long}};
  t[SYS_readv] = {"readv", sys_vector_io<SYS_readv>, {Arg::Fd, Arg::Ptr, Arg::Uint}};
  t[SYS_writev] = {"writev", sys_vector_io<SYS_writev>, {Arg::Fd, Arg::Ptr, Arg::Uint}};
  t[SYS_preadv] = {"preadv", sys_vector_io<SYS_preadv>, {Arg::Fd, Arg::Ptr, Arg::Uint, Arg::Long}};
  t[SYS_pwritev] = {"pwritev", sys_vector_io<SYS_pwritev>, {Arg::Fd, Arg::Ptr, Arg::Uint, Arg::Long}};
  t[SYS_preadv2] = {"preadv2", sys_vector_io<SYS_preadv2>, {Arg::Fd, Arg::Ptr, Arg::Uint, Arg::Long, Arg::Long, Arg::Hex}};
  t[SYS_pwritev2] = {"pwritev2", sys_vector_io<SYS_pwritev2>, {Arg::Fd, Arg::Ptr, Arg::Uint, Arg::Long, Arg::Long, Arg::Hex}};
  t[SYS_close] = {"close", sys_plain<SYS_close>, {Arg::Fd}};
  t[SYS_lseek] = {"lseek", sys_plain<SYS_lseek>, {Arg::Fd, Arg::Long, Arg::Int}};
  t[SYS_dup] = {"dup", sys_plain<SYS_dup>, {Arg::Fd}};
  t[SYS_dup2] = {"dup2", sys_plain<SYS_dup2>, {Arg::Fd, Arg::Fd}};
  t[SYS_dup3] = {"dup3", sys_plain<SYS_dup3>, {Arg::Fd, Arg::Fd, Arg::Hex}};
  t[SYS_pipe] = {"pipe", sys_pipe, {Arg::Ptr}};
  t[SYS_pipe2] = {"pipe2", sys_pipe2, {Arg::Ptr, Arg::Hex}};
  t[SYS_fcntl] = {"fcntl", sys_fcntl, {Arg::Fd, Arg::Int, Arg::Hex}};
  t[SYS_ioctl] = {"ioctl", sys_ioctl, {Arg::Fd, Arg::Hex, Arg::Hex}};
  t[SYS_flock] = {"flock", sys_flock, {Arg::Fd, Arg::Hex}};
  t[SYS_fsync] = {"fsync", sys_plain<SYS_fsync>, {Arg::Fd}};
  t[SYS_fdatasync] = {"fdatasync", sys_plain<SYS_fdatasync>, {Arg::Fd}};
  t[SYS_syncfs] = {"syncfs", sys_plain<SYS_syncfs>, {Arg::Fd}};
  t[SYS_sync] = {"sync", sys_plain<SYS_sync>, {}};
  t[SYS_ftruncate] = {"ftruncate", sys_plain<SYS_ftruncate>, {Arg::Fd, Arg::Long}};
  t[SYS_fallocate] = {"fallocate", sys_plain<SYS_fallocate>, {Arg::Fd, Arg::Hex, Arg::Long, Arg::Long}};
  t[SYS_fadvise64] = {"fadvise64", sys_plain<SYS_fadvise64>, {Arg::Fd, Arg::Long, Arg::Long, Arg::Int}};
  t[SYS_readahead] = {"readahead", sys_plain<SYS_readahead>, {Arg::Fd, Arg::Long, Arg::Uint}};
  t[SYS_fchmod] = {"fchmod", sys_plain<SYS_fchmod>, {Arg::Fd, Arg::Oct}};
  t[SYS_fchown] = {"fchown", sys_plain<SYS_fchown>, {Arg::Fd, Arg::Int, Arg::Int}};
  t[SYS_fchdir] = {"fchdir", sys_plain<SYS_fchdir>, {Arg::Fd}};
  t[SYS_fstat] = {"fstat", sys_fstat, {Arg::Fd, Arg::Ptr}};
  t[SYS_fstatfs] = {"fstatfs", sys_fstatfs, {Arg::Fd, Arg::Ptr}};
  t[SYS_getdents64] = {"getdents64", sys_getdents64, {Arg::Fd, Arg::Ptr, Arg::Uint}};
  t[SYS_poll] = {"poll", sys_poll, {Arg::Ptr, Arg::Uint, Arg::Int}};
  t[SYS_ppoll] = {"ppoll", sys_ppoll, {Arg::Ptr, Arg::Uint, Arg::Ptr, Arg::Ptr, Arg::Uint}};
  t[SYS_select] = {"select", sys_select, {Arg::Int, Arg::Ptr, Arg::Ptr, Arg::Ptr, Arg::Ptr}};
  t[SYS_pselect6] = {"pselect6", sys_pselect6, {Arg::Int, Arg::Ptr, Arg::Ptr, Arg::Ptr, Arg::Ptr, Arg::Ptr}};
  t[SYS_sendfile] = {"sendfile", sys_sendfile, {Arg::Fd, Arg::Fd, Arg::Ptr, Arg::Uint}};
  t[SYS_copy_file_range] = {"copy_file_range", sys_copy_file_range, {Arg::Fd, Arg::Ptr, Arg::Fd, Arg::Ptr, Arg::Uint, Arg::Hex}};
}

}  // namespace vireo
