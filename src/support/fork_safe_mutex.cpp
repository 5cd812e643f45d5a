#include "support/fork_safe_mutex.h"

#include <sys/single_threaded.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

namespace vireo {

namespace {

// The registry's own lock is held from lock_all_for_fork to unlock_all_after_fork, so no mutex
// is created or destroyed in between.
std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
std::vector<ForkSafeMutex*>& registry() {
  static std::vector<ForkSafeMutex*> r;
  return r;
}

// Whether lock_all_for_fork took the locks (the child's glibc may call itself single-threaded
// after a fork of a threaded process: the decision is the one made before the fork).
bool g_locked = false;

}  // namespace

ForkSafeMutex::ForkSafeMutex() {
  std::lock_guard g(registry_mutex());
  registry().push_back(this);
}

ForkSafeMutex::~ForkSafeMutex() {
  std::lock_guard g(registry_mutex());
  std::erase(registry(), this);
}

void lock_all_for_fork() {
  // One host thread (glibc's __libc_single_threaded: false from the first pthread_create on,
  // for good): no other thread can hold one of these locks or make or destroy one, and the
  // forking thread holds none at a fork (a guest fork is a system call, handled between engine
  // runs with no Vireo lock held). Every lock is free, and the child finds it so, untouched.
  // Taking and releasing them would only write each one's page after the fork: a copy-on-write
  // fault per page in the parent and one in the child (up to ~16 per fork under the jit).
  // (stored only when it changes: a page of the parent's, shared with the child from the fork on)
  if (g_locked != !__libc_single_threaded) g_locked = !__libc_single_threaded;
  if (!g_locked) return;
  // All of them, without waiting for one while holding another: the program nests them in its
  // own order (SharedCode::protect holds the shared code's lock, created after the address
  // space's, and then takes the address space's), which the creation order need not follow. A
  // fork that held the address space's lock and waited for the shared code's deadlocked with
  // such a thread (threads.jit.*.fork_exec_threads: about 3 runs in 1,000 under load). So
  // each round tries every lock; if one is busy, it lets go of all and waits before the next
  // round, as std::lock does. The holders keep them for microseconds.
  for (unsigned round = 0;; ++round) {
    registry_mutex().lock();
    std::vector<ForkSafeMutex*>& r = registry();
    size_t taken = 0;
    while (taken < r.size() && r[taken]->try_lock()) ++taken;
    if (taken == r.size()) return;
    while (taken > 0) r[--taken]->unlock();
    registry_mutex().unlock();
    if (round < 16) std::this_thread::yield();
    else std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

void unlock_all_after_fork(bool child) {
  if (!g_locked) return;
  for (auto it = registry().rbegin(); it != registry().rend(); ++it) {
    if (child) (*it)->reset_in_child();
    else (*it)->unlock();
  }
  registry_mutex().unlock();  // (a plain mutex: its unlock does not check the owner)
}

}  // namespace vireo
