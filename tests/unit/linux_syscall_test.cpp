// System call handlers driven directly: bad guest pointers give -EFAULT (never a crash),
// /proc/self/exe names the guest program, execve answers as the kernel would before giving up
// the process, and --strace lines are formatted like qemu's.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "empty_process.h"
#include "interp/interpreter.h"
#include "linux/process.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {
namespace {

class LinuxSyscall : public ::testing::Test {
 protected:
  static constexpr uint64_t kRw = 0x10000, kRo = 0x20000;
  static constexpr uint64_t kUnmapped = 0x30000, kOutside = uint64_t(1) << 50;

  void SetUp() override {
    p = empty_interp_process();
    ASSERT_EQ(p->as().mmap(kRw, 0x4000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), int64_t(kRw));
    ASSERT_EQ(p->as().mmap(kRo, 0x1000, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), int64_t(kRo));
  }
  int64_t call(uint64_t nr, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0,
               uint64_t a4 = 0, uint64_t a5 = 0) {
    const SyscallDef& d = syscall_table()[nr];
    EXPECT_NE(d.fn, nullptr) << nr;
    return d.fn ? d.fn(*p, SyscallArgs{{a0, a1, a2, a3, a4, a5}}) : -ENOSYS;
  }
  uint64_t put(uint64_t addr, const std::string& s) {
    std::memcpy(p->as().host(addr), s.c_str(), s.size() + 1);
    return addr;
  }
  std::unique_ptr<Process> p;
};

TEST_F(LinuxSyscall, BadBuffersGiveEfault) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  EXPECT_EQ(call(SYS_write, fds[1], kUnmapped, 4), -EFAULT);
  EXPECT_EQ(call(SYS_write, fds[1], kOutside, 4), -EFAULT);
  EXPECT_EQ(call(SYS_write, fds[1], ~uint64_t(0) - 2, 4), -EFAULT);
  EXPECT_EQ(call(SYS_write, fds[1], put(kRw, "abcd"), 4), 4);
  EXPECT_EQ(call(SYS_read, fds[0], kRo, 4), -EFAULT);  // read-only page: the host refuses
  EXPECT_EQ(call(SYS_read, fds[0], kRw + 100, 4), 4);
  EXPECT_EQ(std::memcmp(p->as().host(kRw + 100), "abcd", 4), 0);
  EXPECT_EQ(call(SYS_writev, fds[1], kUnmapped, 1), -EFAULT);
  uint64_t iov[2] = {kUnmapped, 4};
  std::memcpy(p->as().host(kRw + 512), iov, 16);
  EXPECT_EQ(call(SYS_writev, fds[1], kRw + 512, 1), -EFAULT);
  EXPECT_EQ(call(SYS_fstat, fds[0], kUnmapped), -EFAULT);
  EXPECT_EQ(call(SYS_fstat, fds[0], kOutside), -EFAULT);
  EXPECT_EQ(call(SYS_pipe2, kRo, 0), -EFAULT);
  EXPECT_EQ(call(SYS_uname, kUnmapped), -EFAULT);
  EXPECT_EQ(call(SYS_clock_gettime, CLOCK_MONOTONIC, kOutside), -EFAULT);
  EXPECT_EQ(call(SYS_getcwd, kUnmapped, 100), -EFAULT);
  EXPECT_EQ(call(SYS_rt_sigaction, 2, kUnmapped, 0, 8), -EFAULT);
  EXPECT_EQ(call(SYS_sigaltstack, kUnmapped, 0), -EFAULT);
  EXPECT_EQ(call(SYS_sysinfo, kRo), -EFAULT);
  EXPECT_EQ(call(SYS_getrandom, kOutside, 16, 0), -EFAULT);
  close(fds[0]);
  close(fds[1]);
}

TEST_F(LinuxSyscall, BadPathsGiveEfaultOrNameTooLong) {
  EXPECT_EQ(call(SYS_openat, AT_FDCWD, kUnmapped, O_RDONLY, 0), -EFAULT);
  EXPECT_EQ(call(SYS_open, kOutside, O_RDONLY, 0), -EFAULT);
  EXPECT_EQ(call(SYS_stat, put(kRw, "/"), kUnmapped), -EFAULT);
  EXPECT_EQ(call(SYS_newfstatat, AT_FDCWD, put(kRw, "/"), kRo, 0), -EFAULT);
  // A path running into an unmapped page without a NUL.
  std::memset(p->as().host(kRw + 0x3800), 'a', 0x800);
  EXPECT_EQ(call(SYS_access, kRw + 0x3800, F_OK), -EFAULT);
  // A path longer than PATH_MAX.
  std::memset(p->as().host(kRw), 'a', 0x4000);
  p->as().host(kRw)[0x3fff] = 0;
  EXPECT_EQ(call(SYS_mkdir, kRw, 0755), -ENAMETOOLONG);
  EXPECT_EQ(call(SYS_openat, AT_FDCWD, put(kRw, "/nonexistent/x"), O_RDONLY, 0), -ENOENT);
}

TEST_F(LinuxSyscall, ProcSelfExeIsTheGuestProgram) {
  int64_t n = call(SYS_readlink, put(kRw, "/proc/self/exe"), kRw + 0x100, 200);
  ASSERT_EQ(n, int64_t(p->exe_path.size()));
  EXPECT_EQ(std::string(reinterpret_cast<char*>(p->as().host(kRw + 0x100)), size_t(n)),
            "/usr/local/bin/guest-prog");
  // Truncated to the buffer, no NUL, like the kernel.
  EXPECT_EQ(call(SYS_readlinkat, AT_FDCWD, put(kRw, "/proc/self/exe"), kRw + 0x100, 4), 4);
  EXPECT_EQ(call(SYS_readlink, put(kRw, "/proc/self/exe"), kUnmapped, 200), -EFAULT);
}

TEST_F(LinuxSyscall, ExecveFailsLikeTheKernelAndKeepsTheProcess) {
  uint64_t argv = kRw + 0x800;
  uint64_t arg0 = put(kRw + 0x900, "x");
  std::memcpy(p->as().host(argv), &arg0, 8);
  std::memset(p->as().host(argv + 8), 0, 8);
  EXPECT_EQ(call(SYS_execve, kUnmapped, argv, 0), -EFAULT);
  EXPECT_EQ(call(SYS_execve, put(kRw, "/bin/sh"), kUnmapped, 0), -EFAULT);
  EXPECT_EQ(call(SYS_execve, put(kRw, "/nonexistent"), argv, 0), -ENOENT);
  EXPECT_EQ(call(SYS_execve, put(kRw, "/"), argv, 0), -EACCES);
  char tmpl[] = "/tmp/vireo-exec-XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "just text\n", 10), 10);
  close(fd);
  EXPECT_EQ(call(SYS_execve, put(kRw, tmpl), argv, 0), -EACCES);  // not executable
  chmod(tmpl, 0755);
  EXPECT_EQ(call(SYS_execve, put(kRw, tmpl), argv, 0), -ENOEXEC);  // no known format
  unlink(tmpl);
}

TEST_F(LinuxSyscall, SigaltstackAndSigactionAreRecorded) {
  uint64_t ss[3] = {0x12340000, 0, 65536};
  std::memcpy(p->as().host(kRw), ss, 24);
  EXPECT_EQ(call(SYS_sigaltstack, kRw, 0), 0);
  EXPECT_EQ(call(SYS_sigaltstack, 0, kRw + 64), 0);
  uint64_t old[3];
  std::memcpy(old, p->as().host(kRw + 64), 24);
  EXPECT_EQ(old[0], 0x12340000u);
  EXPECT_EQ(old[2], 65536u);
  ss[2] = 100;  // below MINSIGSTKSZ
  std::memcpy(p->as().host(kRw), ss, 24);
  EXPECT_EQ(call(SYS_sigaltstack, kRw, 0), -ENOMEM);
  uint64_t act[4] = {0x401000, 0x04000000, 0x401100, 0};
  std::memcpy(p->as().host(kRw), act, 32);
  EXPECT_EQ(call(SYS_rt_sigaction, SIGUSR1, kRw, 0, 8), 0);
  EXPECT_EQ(p->sigactions[SIGUSR1].handler, 0x401000u);
  EXPECT_EQ(call(SYS_rt_sigaction, SIGKILL, kRw, 0, 8), -EINVAL);
  act[0] = 0;  // back to SIG_DFL, so the host disposition is restored too
  std::memcpy(p->as().host(kRw), act, 32);
  EXPECT_EQ(call(SYS_rt_sigaction, SIGUSR1, kRw, 0, 8), 0);
}

TEST_F(LinuxSyscall, StraceLinesLookLikeQemus) {
  put(kRw, "hi\n");
  EXPECT_EQ(format_syscall(*p, SYS_write, SyscallArgs{{1, kRw, 3}}, 3), "write(1, \"hi\\n\", 3) = 3");
  put(kRw, "/etc/nothing");
  EXPECT_EQ(format_syscall(*p, SYS_openat, SyscallArgs{{uint64_t(AT_FDCWD), kRw, O_RDONLY | O_CLOEXEC, 0}}, -ENOENT),
            "openat(AT_FDCWD, \"/etc/nothing\", 0x80000, 0) = -1 ENOENT (No such file or directory)");
  EXPECT_EQ(format_syscall(*p, SYS_mmap, SyscallArgs{{0, 4096, 3, 0x22, uint64_t(-1), 0}}, 0x7f0000000000),
            "mmap(NULL, 4096, 0x3, 0x22, -1, 0x0) = 0x7f0000000000");
  EXPECT_EQ(format_syscall(*p, SYS_write, SyscallArgs{{1, kUnmapped, 3}}, -EFAULT),
            "write(1, 0x30000, 3) = -1 EFAULT (Bad address)");
  EXPECT_EQ(format_syscall(*p, SYS_wait4, SyscallArgs{{0xffffffff, 0, 0, 0}}, -ECHILD),
            "wait4(-1, NULL, 0x0, NULL) = -1 ECHILD (No child processes)");
  EXPECT_EQ(format_syscall(*p, SYS_kill, SyscallArgs{{42, SIGTERM}}, 0), "kill(42, SIGTERM) = 0");
  EXPECT_EQ(format_syscall(*p, SYS_lseek, SyscallArgs{{3, uint64_t(-8), SEEK_END}}, 92), "lseek(3, -8, 2) = 92");
  EXPECT_EQ(format_syscall(*p, 500, SyscallArgs{{}}, -ENOSYS),
            "syscall_500() = -1 ENOSYS (Function not implemented)");
}

}  // namespace
}  // namespace vireo
