#include "support/fork_safe_mutex.h"

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
  registry_mutex().lock();
  for (ForkSafeMutex* m : registry()) m->lock();
}

void unlock_all_after_fork(bool child) {
  for (auto it = registry().rbegin(); it != registry().rend(); ++it) {
    if (child) (*it)->reset_in_child();
    else (*it)->unlock();
  }
  registry_mutex().unlock();  // (a plain mutex: its unlock does not check the owner)
}

}  // namespace vireo
