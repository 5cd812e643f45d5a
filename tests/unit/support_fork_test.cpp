// support/fork_safe_mutex and support/fork_text: what a host fork (a guest fork) finds.
#include <fcntl.h>
#include <sys/single_threaded.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>

#include "support/fork_safe_mutex.h"
#include "support/fork_text.h"

namespace vireo {
namespace {

// Forks; the child runs `f` and exits with its result; returns the child's exit code.
template <typename F>
int in_child(F f) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(f());
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

// Forks around lock_all_for_fork/unlock_all_after_fork as Process::before_fork/after_fork do.
template <typename F>
int guest_like_fork(F f) {
  lock_all_for_fork();
  pid_t pid = ::fork();
  unlock_all_after_fork(pid == 0);
  if (pid == 0) ::_exit(f());
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

TEST(ForkSafeMutex, OneThreadForkLeavesEveryLockFree) {
  ForkSafeMutex a, b;
  { std::lock_guard g(a); }
  int code = guest_like_fork([&] { return a.try_lock() && b.try_lock() ? 0 : 1; });
  EXPECT_EQ(code, 0);
  // And the parent's are free too.
  ASSERT_TRUE(a.try_lock());
  a.unlock();
}

// With another thread about, the fork waits for a lock that thread holds, and the child finds
// it free (the other thread does not exist there to release it).
TEST(ForkSafeMutex, ThreadedForkWaitsForHeldLocks) {
  ForkSafeMutex m;
  std::atomic<bool> held{false};
  std::atomic<bool> released{false};
  std::thread t([&] {
    std::lock_guard g(m);
    held = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    released = true;
  });
  while (!held) std::this_thread::yield();
  EXPECT_FALSE(__libc_single_threaded);
  int code = guest_like_fork([&] { return m.try_lock() ? 0 : 1; });
  EXPECT_TRUE(released);  // the fork happened after the other thread let go
  EXPECT_EQ(code, 0);
  t.join();
}

// Read-only data of this binary (a read-only file mapping, as Vireo's text is), large enough
// that its middle page is more than the kernel's fault-around window (64 KiB) away from
// anything else the child touches.
// (One byte not zero: it is file data, not .bss.)
constexpr size_t kBig = 512 * 1024;
alignas(4096) const unsigned char kReadOnly[kBig] = {1};

// /proc/self/pagemap: bit 63 says the page is mapped in this process's page table.
bool mapped_here(const void* p) {
  int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  uint64_t entry = 0;
  const off_t at = off_t(reinterpret_cast<uintptr_t>(p) / 4096 * 8);
  const bool ok = ::pread(fd, &entry, sizeof entry, at) == sizeof entry;
  ::close(fd);
  return ok && (entry >> 63);
}

std::string file_maps() {
  std::ifstream in("/proc/self/maps");
  std::string line, out;
  while (std::getline(in, line))
    if (line.find(" /") != std::string::npos) out += line + "\n";  // (file mappings only)
  return out;
}

TEST(ForkText, ChildKeepsTheParentsTextMapped) {
  if (!__libc_single_threaded) GTEST_SKIP() << "another test of this process made a thread";
  const std::string before = file_maps();
  keep_text_mapped_across_fork();
  keep_text_mapped_across_fork();  // (once is enough; again is nothing)
  // The same mappings, the same protections, none split.
  EXPECT_EQ(file_maps(), before);
  const volatile unsigned char* middle = &kReadOnly[kBig / 2];
  EXPECT_EQ(*middle, 0);  // (mapped in the parent)
  ASSERT_TRUE(mapped_here(const_cast<const unsigned char*>(middle)));
  // The child has the page without a fault of its own.
  EXPECT_EQ(in_child([&] { return mapped_here(const_cast<const unsigned char*>(middle)) ? 0 : 1; }), 0);
}

}  // namespace
}  // namespace vireo
