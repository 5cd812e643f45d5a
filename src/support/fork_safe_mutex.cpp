#include "support/fork_safe_mutex.h"

#include <sys/single_threaded.h>

#include <algorithm>
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
  registry_mutex().lock();
  for (ForkSafeMutex* m : registry()) m->lock();
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
