// support/fork_safe_mutex: what a host fork (a guest fork) finds of Vireo's locks.
#include <sys/single_threaded.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "support/fork_safe_mutex.h"

namespace vireo {
namespace {

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

// Another thread nests the locks in the order opposite to their creation (as SharedCode::protect
// nests the shared code's and the address space's): it holds the later one while the fork
// begins, then takes the earlier one. The fork must not hold the earlier one while it waits for
// the later one (a deadlock: the alarm would kill the test).
TEST(ForkSafeMutex, ThreadedForkDoesNotHoldOneLockWhileWaitingForAnother) {
  ForkSafeMutex first, second;  // (created in this order)
  std::atomic<bool> held{false};
  std::thread t([&] {
    std::lock_guard outer(second);
    held = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the fork is waiting by now
    std::lock_guard inner(first);
  });
  while (!held) std::this_thread::yield();
  ::alarm(20);
  int code = guest_like_fork([&] { return first.try_lock() && second.try_lock() ? 0 : 1; });
  ::alarm(0);
  EXPECT_EQ(code, 0);
  t.join();
}

}  // namespace
}  // namespace vireo
