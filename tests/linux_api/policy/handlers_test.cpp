// The new syscall families' handlers driven directly, for what the C programs cannot see:
// every bad guest pointer inside a translated structure gives -EFAULT (never a crash or a write
// into Vireo's memory), System V shared memory lands inside the guest window and shmdt gives
// the range back, and sockets answer as the kernel does on the wrong kind of fd.
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "interp/interpreter.h"
#include "linux/process.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {
namespace {

class LinuxApiHandlers : public ::testing::Test {
 protected:
  static constexpr uint64_t kRw = 0x10000, kUnmapped = 0x30000, kOutside = uint64_t(1) << 50;

  void SetUp() override {
    RunOptions o;
    o.make_engine = [](const GuestMemory& m) { return std::make_unique<Interpreter>(m); };
    p = std::make_unique<Process>(o);
    p->load_empty();
    ASSERT_EQ(p->as().mmap(kRw, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), int64_t(kRw));
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
  }
  void TearDown() override {
    ::close(sv[0]);
    ::close(sv[1]);
  }
  int64_t call(uint64_t nr, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0,
               uint64_t a4 = 0, uint64_t a5 = 0) {
    const SyscallDef& d = syscall_table()[nr];
    EXPECT_NE(d.fn, nullptr) << nr;
    return d.fn ? d.fn(*p, SyscallArgs{{a0, a1, a2, a3, a4, a5}}) : -ENOSYS;
  }
  template <class T>
  uint64_t put(uint64_t addr, const T& v) {
    std::memcpy(p->as().host(addr), &v, sizeof v);
    return addr;
  }
  std::unique_ptr<Process> p;
  int sv[2];
};

// A guest msghdr: name, namelen, iov, iovlen, control, controllen, flags.
struct Msg {
  uint64_t name;
  uint32_t namelen, pad0;
  uint64_t iov, iovlen, control, controllen;
  int32_t flags, pad1;
};

TEST_F(LinuxApiHandlers, MsghdrPointersAreChecked) {
  uint64_t iov[2] = {kRw + 0x1000, 4};
  put(kRw + 0x100, iov);
  Msg m{};
  m.iov = kRw + 0x100;
  m.iovlen = 1;
  EXPECT_EQ(call(SYS_sendmsg, sv[0], put(kRw, m), 0), 4);
  EXPECT_EQ(call(SYS_sendmsg, sv[0], kUnmapped, 0), -EFAULT);
  EXPECT_EQ(call(SYS_sendmsg, sv[0], kOutside, 0), -EFAULT);
  Msg bad = m;
  bad.iov = kOutside;
  EXPECT_EQ(call(SYS_sendmsg, sv[0], put(kRw, bad), 0), -EFAULT);
  uint64_t bad_iov[2] = {kOutside, 4};
  put(kRw + 0x200, bad_iov);
  bad = m;
  bad.iov = kRw + 0x200;
  EXPECT_EQ(call(SYS_sendmsg, sv[0], put(kRw, bad), 0), -EFAULT);
  bad = m;
  bad.control = kOutside;
  bad.controllen = 64;
  EXPECT_EQ(call(SYS_sendmsg, sv[0], put(kRw, bad), 0), -EFAULT);
  bad = m;
  bad.iovlen = 5000;
  EXPECT_EQ(call(SYS_sendmsg, sv[0], put(kRw, bad), 0), -EMSGSIZE);
  // recvmsg writes the lengths and flags back into the guest's msghdr.
  Msg r = m;
  r.controllen = 0;
  r.flags = 0x1234;
  EXPECT_EQ(call(SYS_recvmsg, sv[1], put(kRw + 0x300, r), MSG_DONTWAIT), 4);
  std::memcpy(&r, p->as().host(kRw + 0x300), sizeof r);
  EXPECT_EQ(r.flags, 0);
  EXPECT_EQ(call(SYS_recvmsg, sv[1], kOutside, MSG_DONTWAIT), -EFAULT);
}

TEST_F(LinuxApiHandlers, MmsgStopsAtTheFirstBadMessage) {
  uint64_t iov[2] = {kRw + 0x1000, 3};
  put(kRw + 0x100, iov);
  struct { Msg hdr; uint32_t len, pad; } v[2]{};
  v[0].hdr.iov = kRw + 0x100;
  v[0].hdr.iovlen = 1;
  v[1].hdr.iov = kOutside;
  v[1].hdr.iovlen = 1;
  put(kRw + 0x400, v);
  EXPECT_EQ(call(SYS_sendmmsg, sv[0], kRw + 0x400, 2, 0), 1);
  uint32_t len;
  std::memcpy(&len, p->as().host(kRw + 0x400 + 56), 4);
  EXPECT_EQ(len, 3u);
  EXPECT_EQ(call(SYS_sendmmsg, sv[0], kOutside, 2, 0), -EFAULT);
}

TEST_F(LinuxApiHandlers, SocketFilterProgramIsTranslated) {
  // struct sock_fprog {u16 len; sock_filter* filter}: one instruction, "accept the packet".
  struct { uint16_t code; uint8_t jt, jf; uint32_t k; } accept_all{0x06, 0, 0, 0xffff};  // BPF_RET|BPF_K
  put(kRw + 0x800, accept_all);
  struct { uint16_t len, pad[3]; uint64_t filter; } prog{1, {}, kRw + 0x800};
  EXPECT_EQ(call(SYS_setsockopt, sv[1], SOL_SOCKET, SO_ATTACH_FILTER, put(kRw, prog), 16), 0);
  prog.filter = kOutside;
  EXPECT_EQ(call(SYS_setsockopt, sv[1], SOL_SOCKET, SO_ATTACH_FILTER, put(kRw, prog), 16), -EFAULT);
  EXPECT_EQ(call(SYS_setsockopt, sv[1], SOL_SOCKET, SO_ATTACH_FILTER, kRw, 8), -EINVAL);
  EXPECT_EQ(call(SYS_setsockopt, sv[1], SOL_SOCKET, SO_ATTACH_FILTER, kOutside, 16), -EFAULT);
}

TEST_F(LinuxApiHandlers, SocketCallsOnOtherFds) {
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  put(kRw, uint32_t(16));
  EXPECT_EQ(call(SYS_getpeername, pipefd[0], kRw + 16, kRw), -ENOTSOCK);
  EXPECT_EQ(call(SYS_getsockname, pipefd[0], kRw + 16, kRw), -ENOTSOCK);
  EXPECT_EQ(call(SYS_getsockname, sv[0], kRw + 16, kOutside), -EFAULT);
  EXPECT_EQ(call(SYS_getsockopt, sv[0], SOL_SOCKET, SO_TYPE, kRw + 16, kOutside), -EFAULT);
  put(kRw, int32_t(-1));
  EXPECT_EQ(call(SYS_getsockopt, sv[0], SOL_SOCKET, SO_TYPE, kRw + 16, kRw), -EINVAL);
  // An ioctl Vireo does not know is ENOTTY (with one warning line), never passed on blindly.
  EXPECT_EQ(call(SYS_ioctl, sv[0], 0x89ff, kRw), -ENOTTY);
  EXPECT_EQ(call(SYS_ioctl, sv[0], SIOCGIFCONF, kOutside), -EFAULT);
  // The command is 32 bits (musl passes it sign-extended): the upper half is ignored.
  EXPECT_EQ(call(SYS_ioctl, sv[0], 0xffffffff00000000 | FIONREAD, kRw), 0);
  EXPECT_EQ(call(SYS_ioctl, pipefd[0], 0xffffffff80081272 /* BLKGETSIZE64 */, kRw), -ENOTTY);
  ::close(pipefd[0]);
  ::close(pipefd[1]);
}

TEST_F(LinuxApiHandlers, EventBuffersAreChecked) {
  int ep = int(call(SYS_epoll_create1, 0));
  ASSERT_GE(ep, 0);
  EXPECT_EQ(call(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, sv[0], kOutside), -EFAULT);
  EXPECT_EQ(call(SYS_epoll_wait, ep, kOutside, 4, 0), -EFAULT);  // checked before waiting
  epoll_event e{EPOLLOUT, {}};
  EXPECT_EQ(call(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, sv[0], put(kRw, e)), 0);
  EXPECT_EQ(call(SYS_epoll_wait, ep, kOutside, 4, 0), -EFAULT);
  EXPECT_EQ(call(SYS_epoll_pwait, ep, kRw, 4, 0, kOutside, 8), -EFAULT);
  EXPECT_EQ(call(SYS_epoll_pwait, ep, kRw, 4, 0, kRw + 0x800, 7), -EINVAL);
  EXPECT_EQ(call(SYS_signalfd4, -1, kOutside, 8, 0), -EFAULT);
  EXPECT_EQ(call(SYS_timer_create, CLOCK_MONOTONIC, kOutside, kRw), -EFAULT);
  ::close(ep);
}

TEST_F(LinuxApiHandlers, SharedMemoryLandsInTheGuestWindow) {
  int id = int(call(SYS_shmget, IPC_PRIVATE, 3 * 4096 + 1, IPC_CREAT | 0600));
  ASSERT_GE(id, 0);
  int64_t at = call(SYS_shmat, id, 0, 0);
  ASSERT_GT(at, 0);
  EXPECT_EQ(at & 4095, 0);
  EXPECT_TRUE(p->as().contains(uint64_t(at), 4 * 4096));
  EXPECT_EQ(p->as().prot_at(uint64_t(at)), PROT_READ | PROT_WRITE);
  std::strcpy(reinterpret_cast<char*>(p->as().host(uint64_t(at) + 3 * 4096)), "shared");
  // A second attachment sees the same bytes.
  int64_t ro = call(SYS_shmat, id, 0, SHM_RDONLY);
  ASSERT_GT(ro, 0);
  EXPECT_NE(ro, at);
  EXPECT_EQ(p->as().prot_at(uint64_t(ro)), PROT_READ);
  EXPECT_STREQ(reinterpret_cast<char*>(p->as().host(uint64_t(ro) + 3 * 4096)), "shared");
  // Over a mapping without SHM_REMAP: EINVAL; a misaligned address without SHM_RND: EINVAL.
  EXPECT_EQ(call(SYS_shmat, id, kRw, 0), -EINVAL);
  EXPECT_EQ(call(SYS_shmat, id, uint64_t(at) + 1, 0), -EINVAL);
  EXPECT_EQ(call(SYS_shmdt, uint64_t(ro)), 0);
  EXPECT_EQ(call(SYS_shmdt, uint64_t(at)), 0);
  EXPECT_EQ(p->as().prot_at(uint64_t(at)), -1);  // the range is back in the reservation
  EXPECT_EQ(call(SYS_shmdt, uint64_t(at)), -EINVAL);
  EXPECT_EQ(call(SYS_shmctl, id, IPC_RMID, 0), 0);
  EXPECT_EQ(call(SYS_shmat, id, 0, 0), -EINVAL);
}

}  // namespace
}  // namespace vireo
