// Sockets: AF_UNIX, AF_INET, AF_INET6, AF_NETLINK and whatever else the host offers.
//
// A guest socket is a host socket (guest fds are host fds), and sockaddrs, socket options and
// control messages have the same layout on both sides (x86-64 to x86-64), so most calls pass
// straight through with guest buffers turned into host pointers. The exceptions are structures
// that hold guest pointers: struct msghdr (name, iovec array, control buffer) and the mmsghdr
// arrays of sendmmsg/recvmmsg, and struct sock_fprog for socket filters; those are rebuilt as
// host copies, and the fields the kernel writes back (msg_namelen, msg_controllen, msg_flags,
// msg_len) are copied back to the guest. Every bad guest pointer gives -EFAULT.
//
// SCM_RIGHTS carries host fds, which are the guest's; SCM_CREDENTIALS carries host pids, which
// are the guest's too. Calls on a non-socket fd answer ENOTSOCK from the host, as on Linux.
// connect, accept and the sends and receives can wait: they go through blocking_call.
#include <linux/filter.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <vector>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/syscalls/host_call.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

// Linux's UIO_MAXIOV: the most iovecs one msghdr may carry (and the most messages one
// sendmmsg/recvmmsg call handles, net/socket.c caps vlen to it).
constexpr uint64_t kMaxIov = 1024;

// struct msghdr as the guest lays it out (the x86-64 ABI; the same bytes as the host's).
struct GuestMsghdr {
  uint64_t name;
  uint32_t namelen, pad0;
  uint64_t iov, iovlen, control, controllen;
  int32_t flags, pad1;
};
static_assert(sizeof(GuestMsghdr) == sizeof(msghdr));
struct GuestMmsghdr {
  GuestMsghdr hdr;
  uint32_t len, pad;
};
static_assert(sizeof(GuestMmsghdr) == sizeof(mmsghdr));

// A host msghdr built from a guest one, with the iovecs it points to.
struct HostMsg {
  msghdr h{};
  std::vector<iovec> iov;
};

// Builds the host msghdr for the guest one at `addr`: 0 or -errno (EMSGSIZE for too many
// iovecs, as net/socket.c answers).
int64_t host_msghdr(Process& p, uint64_t addr, HostMsg& m) {
  GuestMsghdr g;
  if (!read_guest(p, addr, g)) return -EFAULT;
  if (g.iovlen > kMaxIov) return -EMSGSIZE;
  m.iov.resize(g.iovlen);
  for (uint64_t i = 0; i < g.iovlen; ++i) {
    uint64_t pair[2];
    if (!copy_from_guest(p, pair, g.iov + i * 16, 16)) return -EFAULT;
    m.iov[i] = {host_arg(p, pair[0], pair[1]), pair[1]};
  }
  m.h.msg_name = host_opt(p, g.name, g.namelen);
  m.h.msg_namelen = g.name ? g.namelen : 0;
  m.h.msg_iov = m.iov.data();
  m.h.msg_iovlen = g.iovlen;
  m.h.msg_control = host_opt(p, g.control, g.controllen);
  m.h.msg_controllen = g.control ? g.controllen : 0;
  m.h.msg_flags = 0;
  return 0;
}

// After a receive: the lengths and flags the kernel updates in the caller's msghdr.
bool write_back_msghdr(Process& p, uint64_t addr, const msghdr& h) {
  GuestMsghdr g;
  if (!read_guest(p, addr, g)) return false;
  g.namelen = h.msg_namelen;
  g.controllen = h.msg_controllen;
  g.flags = h.msg_flags;
  return write_guest(p, addr, g);
}

// Reads the socklen_t an (address, length pointer) pair names and returns the host pointers
// for both; -EFAULT / -EINVAL as the kernel answers for a bad length.
int64_t addr_and_len(Process& p, uint64_t addr, uint64_t lenp, void*& haddr, void*& hlen) {
  haddr = hlen = nullptr;
  if (!addr) return 0;  // the kernel ignores the length when no address is wanted
  int32_t len;
  if (!read_guest(p, lenp, len)) return -EFAULT;
  if (len < 0) return -EINVAL;
  haddr = host_arg(p, addr, uint32_t(len));
  hlen = host_arg(p, lenp, 4);
  return 0;
}

int64_t sys_socket(Process&, const SyscallArgs& a) {
  return host_call(SYS_socket, a.a[0], a.a[1], a.a[2]);
}
int64_t sys_socketpair(Process& p, const SyscallArgs& a) {
  return host_call(SYS_socketpair, a.a[0], a.a[1], a.a[2], hp(host_arg(p, a.a[3], 8)));
}
int64_t sys_bind(Process& p, const SyscallArgs& a) {
  return host_call(SYS_bind, a.a[0], hp(host_opt(p, a.a[1], uint32_t(a.a[2]))), a.a[2]);
}
int64_t sys_connect(Process& p, const SyscallArgs& a) {
  return blocking_call(SYS_connect, a.a[0], hp(host_opt(p, a.a[1], uint32_t(a.a[2]))), a.a[2]);
}
int64_t sys_listen(Process&, const SyscallArgs& a) { return host_call(SYS_listen, a.a[0], a.a[1]); }
int64_t sys_shutdown(Process&, const SyscallArgs& a) {
  return host_call(SYS_shutdown, a.a[0], a.a[1]);
}

int64_t sys_accept4(Process& p, const SyscallArgs& a) {
  void *addr, *len;
  if (int64_t r = addr_and_len(p, a.a[1], a.a[2], addr, len)) return r;
  return blocking_call(SYS_accept4, a.a[0], hp(addr), hp(len), a.a[3]);
}
int64_t sys_accept(Process& p, const SyscallArgs& a) {
  SyscallArgs b = a;
  b.a[3] = 0;
  return sys_accept4(p, b);
}

template <long NR>
int64_t sys_sockname(Process& p, const SyscallArgs& a) {
  // Both always want the address; a NULL one is EFAULT from the kernel.
  int32_t len;
  if (!read_guest(p, a.a[2], len)) return -EFAULT;
  if (len < 0) return -EINVAL;
  return host_call(NR, a.a[0], hp(host_arg(p, a.a[1], uint32_t(len))), hp(host_arg(p, a.a[2], 4)));
}

int64_t sys_sendto(Process& p, const SyscallArgs& a) {
  return blocking_call(SYS_sendto, a.a[0], hp(host_arg(p, a.a[1], a.a[2])), a.a[2], a.a[3],
                       hp(host_opt(p, a.a[4], uint32_t(a.a[5]))), a.a[5]);
}
int64_t sys_recvfrom(Process& p, const SyscallArgs& a) {
  void *addr, *len;
  if (int64_t r = addr_and_len(p, a.a[4], a.a[5], addr, len)) return r;
  return blocking_call(SYS_recvfrom, a.a[0], hp(host_arg(p, a.a[1], a.a[2])), a.a[2], a.a[3],
                       hp(addr), hp(len));
}

int64_t sys_sendmsg(Process& p, const SyscallArgs& a) {
  HostMsg m;
  if (int64_t r = host_msghdr(p, a.a[1], m)) return r;
  return blocking_call(SYS_sendmsg, a.a[0], hp(&m.h), a.a[2]);
}
int64_t sys_recvmsg(Process& p, const SyscallArgs& a) {
  HostMsg m;
  if (int64_t r = host_msghdr(p, a.a[1], m)) return r;
  int64_t n = blocking_call(SYS_recvmsg, a.a[0], hp(&m.h), a.a[2]);
  if (n >= 0 && !write_back_msghdr(p, a.a[1], m.h)) return -EFAULT;
  return n;
}

// sendmmsg/recvmmsg: the kernel handles the messages one by one and, when message i > 0 fails,
// reports the i that went through; a message whose msghdr cannot be translated ends the batch
// the same way.
template <long NR>
int64_t sys_mmsg(Process& p, const SyscallArgs& a) {
  uint64_t vlen = std::min<uint64_t>(uint32_t(a.a[2]), kMaxIov);
  std::vector<HostMsg> msgs(vlen);
  std::vector<mmsghdr> hosts(vlen);
  for (uint64_t i = 0; i < vlen; ++i) {
    if (int64_t r = host_msghdr(p, a.a[1] + i * sizeof(GuestMmsghdr), msgs[i]); r < 0) {
      if (i == 0) return r;
      vlen = i;
      break;
    }
    hosts[i].msg_hdr = msgs[i].h;
    hosts[i].msg_len = 0;
  }
  int64_t n = NR == SYS_sendmmsg
                  ? blocking_call(NR, a.a[0], hp(hosts.data()), vlen, a.a[3])
                  : blocking_call(NR, a.a[0], hp(hosts.data()), vlen, a.a[3], hp(host_opt(p, a.a[4], 16)));
  for (int64_t i = 0; i < n; ++i) {
    uint64_t g = a.a[1] + uint64_t(i) * sizeof(GuestMmsghdr);
    if (NR == SYS_recvmmsg && !write_back_msghdr(p, g, hosts[i].msg_hdr)) return -EFAULT;
    if (!write_guest(p, g + offsetof(GuestMmsghdr, len), uint32_t(hosts[i].msg_len))) return -EFAULT;
  }
  return n;
}

// Socket options are flat buffers, except classic BPF filters: struct sock_fprog holds a guest
// pointer to the instructions.
int64_t sys_setsockopt(Process& p, const SyscallArgs& a) {
  int level = int(a.a[1]), name = int(a.a[2]);
  uint32_t len = uint32_t(a.a[4]);
  if (level == SOL_SOCKET && (name == SO_ATTACH_FILTER || name == SO_ATTACH_REUSEPORT_CBPF)) {
    if (len < sizeof(sock_fprog)) return -EINVAL;
    struct { uint16_t len; uint16_t pad[3]; uint64_t filter; } g;
    static_assert(sizeof g == sizeof(sock_fprog));
    if (!read_guest(p, a.a[3], g)) return -EFAULT;
    sock_fprog prog{g.len, static_cast<sock_filter*>(host_arg(p, g.filter, g.len * sizeof(sock_filter)))};
    return host_call(SYS_setsockopt, a.a[0], level, name, hp(&prog), sizeof prog);
  }
  return host_call(SYS_setsockopt, a.a[0], level, name, hp(host_opt(p, a.a[3], len)), len);
}
int64_t sys_getsockopt(Process& p, const SyscallArgs& a) {
  int32_t len;
  if (!read_guest(p, a.a[4], len)) return -EFAULT;
  if (len < 0) return -EINVAL;
  return host_call(SYS_getsockopt, a.a[0], a.a[1], a.a[2], hp(host_opt(p, a.a[3], uint32_t(len))),
                   hp(host_arg(p, a.a[4], 4)));
}

}  // namespace

void register_net_syscalls(SyscallTable& t) {
  t[SYS_socket] = {"socket", sys_socket, {Arg::Int, Arg::Hex, Arg::Int}};
  t[SYS_socketpair] = {"socketpair", sys_socketpair, {Arg::Int, Arg::Hex, Arg::Int, Arg::Ptr}};
  t[SYS_bind] = {"bind", sys_bind, {Arg::Fd, Arg::Ptr, Arg::Uint}};
  t[SYS_connect] = {"connect", sys_connect, {Arg::Fd, Arg::Ptr, Arg::Uint}};
  t[SYS_listen] = {"listen", sys_listen, {Arg::Fd, Arg::Int}};
  t[SYS_accept] = {"accept", sys_accept, {Arg::Fd, Arg::Ptr, Arg::Ptr}};
  t[SYS_accept4] = {"accept4", sys_accept4, {Arg::Fd, Arg::Ptr, Arg::Ptr, Arg::Hex}};
  t[SYS_getsockname] = {"getsockname", sys_sockname<SYS_getsockname>, {Arg::Fd, Arg::Ptr, Arg::Ptr}};
  t[SYS_getpeername] = {"getpeername", sys_sockname<SYS_getpeername>, {Arg::Fd, Arg::Ptr, Arg::Ptr}};
  t[SYS_sendto] = {"sendto", sys_sendto, {Arg::Fd, Arg::Buf, Arg::Uint, Arg::Hex, Arg::Ptr, Arg::Uint}};
  t[SYS_recvfrom] = {"recvfrom", sys_recvfrom, {Arg::Fd, Arg::Ptr, Arg::Uint, Arg::Hex, Arg::Ptr, Arg::Ptr}};
  t[SYS_sendmsg] = {"sendmsg", sys_sendmsg, {Arg::Fd, Arg::Ptr, Arg::Hex}};
  t[SYS_recvmsg] = {"recvmsg", sys_recvmsg, {Arg::Fd, Arg::Ptr, Arg::Hex}};
  t[SYS_sendmmsg] = {"sendmmsg", sys_mmsg<SYS_sendmmsg>, {Arg::Fd, Arg::Ptr, Arg::Uint, Arg::Hex}};
  t[SYS_recvmmsg] = {"recvmmsg", sys_mmsg<SYS_recvmmsg>, {Arg::Fd, Arg::Ptr, Arg::Uint, Arg::Hex, Arg::Ptr}};
  t[SYS_shutdown] = {"shutdown", sys_shutdown, {Arg::Fd, Arg::Int}};
  t[SYS_setsockopt] = {"setsockopt", sys_setsockopt, {Arg::Fd, Arg::Int, Arg::Int, Arg::Ptr, Arg::Uint}};
  t[SYS_getsockopt] = {"getsockopt", sys_getsockopt, {Arg::Fd, Arg::Int, Arg::Int, Arg::Ptr, Arg::Ptr}};
}

}  // namespace vireo
