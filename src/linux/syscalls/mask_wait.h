// Waiting with a temporary guest signal mask: epoll_pwait, epoll_pwait2, ppoll, pselect6.
//
// As for rt_sigsuspend (syscalls/signal.cpp), the host signals are blocked while we look at the
// signals Vireo holds itself, and the host call swaps in the host mask that mirrors the
// temporary one atomically, so a signal arriving in between is not lost (and `wait` makes its
// call with blocking_call, whose test of the exit request catches the signals Vireo holds
// itself, and the wait without a mask too: host_call.h). When a signal
// interrupts the wait, the temporary mask stays the guest's until the handler's frame is built,
// and the frame saves the old one: the handler runs "as though the mask were set with
// sigprocmask around the wait" (epoll_wait(2), ppoll(2)), and the old mask is back after it.
#pragma once

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/signals.h"
#include "linux/threads.h"

namespace vireo {

// Runs `wait(host_mask)` with the guest's temporary mask at `mask_addr` (`setsize` bytes, which
// must be 8), or `wait(nullptr)` when there is none. Returns the wait's result or -errno.
template <class Wait>
int64_t wait_with_guest_mask(Process& p, uint64_t mask_addr, uint64_t setsize, Wait wait) {
  if (!mask_addr) return wait(nullptr);
  if (setsize != 8) return -EINVAL;
  uint64_t temp;
  if (!read_guest(p, mask_addr, temp)) return -EFAULT;
  temp &= ~kUnblockable;
  uint64_t all = host_mask_for(~uint64_t(0)), prev;
  ::syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &prev, 8L);
  int64_t r = -EINTR;
  if (!(pending_signals() & ~temp)) {
    uint64_t host_mask = host_mask_for(temp);
    r = wait(&host_mask);
  }
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &prev, nullptr, 8L);
  if (r == -EINTR) {
    p.thread().saved_mask = p.thread().sigmask;
    p.thread().mask_saved = true;
    set_guest_mask(p, temp);
  }
  return r;
}

}  // namespace vireo
