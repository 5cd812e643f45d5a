// Guest threads (user mode, design.md "Threads"): each guest thread is one host thread with its
// own CpuState, its own engine (registers, lazy flags, decode cache or translation cache) and
// its own per-thread kernel state (signal mask, alternate stack, clear-child-tid, robust list),
// over the process's one address space. gettid() is the host TID, so tgkill, /proc/self/task
// and signals address real threads.
//
// What threads share lives in Process (dispositions, the address space, counters) and is
// guarded there; the thread list itself is guarded by Process::threads_mu_.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>

#include "cpu/cpu_state.h"
#include "cpu/engine.h"
#include "linux/altstack.h"
#include "linux/signals.h"

namespace vireo {

class Process;

struct GuestThread {
  CpuState cpu{};
  std::unique_ptr<Engine> engine;
  pid_t tid = 0;
  bool is_main = false;  // runs on the host's main thread (which must never return)

  // Signals (signals.h): the blocked mask, and while rt_sigsuspend/pause run with a temporary
  // mask, the one to restore; the alternate stack; pending thread-directed signals.
  uint64_t sigmask = 0;
  uint64_t saved_mask = 0;
  bool mask_saved = false;
  AltStack altstack;
  ThreadSignals signals;
  // The last CPU exception delivered as a signal (Linux's thread.trap_nr, error_code, cr2):
  // every signal frame's sigcontext reports them, a kill()'s too, stale as they are.
  uint64_t last_trapno = 0, last_err = 0, last_cr2 = 0;

  // Thread exit (Linux kernel/fork.c mm_release, kernel/futex/core.c exit_robust_list).
  uint64_t clear_child_tid = 0;
  uint64_t robust_list = 0;  // guest address of the struct robust_list_head, 0 if none
  bool exiting = false;      // exit(2) was called: this thread ends, the others go on
  int exit_code = 0;

  // System calls made, by number (for --stats; per thread so counting needs no lock).
  std::map<uint64_t, uint64_t> syscall_counts;
};

// The calling host thread's guest thread (nullptr outside one).
GuestThread* current_thread();
void set_current_thread(GuestThread* t);

// Linux's robust-futex cleanup for a thread that dies (exit_robust_list): every futex on the
// list it still owns gets FUTEX_OWNER_DIED, and one waiter is woken.
void release_robust_futexes(Process& p, const GuestThread& t);

}  // namespace vireo
