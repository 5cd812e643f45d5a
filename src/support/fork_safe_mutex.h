// A (recursive) mutex that stays usable in the child of a guest fork.
//
// A guest fork is a host fork of Vireo (syscalls/process.cpp). Only the forking thread goes on
// in the child; a Vireo lock that another thread held at that moment would stay locked there
// forever. Every ForkSafeMutex is taken by the forking thread just before the host fork and
// released just after, on both sides, so the child finds them all free and consistent
// (pthread_atfork would do the same, but its handlers cannot be removed again).
#pragma once

#include <mutex>
#include <new>

namespace vireo {

class ForkSafeMutex {
 public:
  ForkSafeMutex();
  ~ForkSafeMutex();
  ForkSafeMutex(const ForkSafeMutex&) = delete;
  ForkSafeMutex& operator=(const ForkSafeMutex&) = delete;
  void lock() { m_.lock(); }
  void unlock() { m_.unlock(); }
  bool try_lock() { return m_.try_lock(); }
  void reset_in_child() { new (&m_) std::recursive_mutex(); }

 private:
  std::recursive_mutex m_;
};

// Around a host fork: takes every ForkSafeMutex (all at once, never waiting for one while
// holding another), then releases them all:
// the parent unlocks them; the child, whose one thread is not their owner as far as a
// recursive mutex knows (its TID is new), makes each a fresh unlocked mutex.
void lock_all_for_fork();
void unlock_all_after_fork(bool child);

}  // namespace vireo
