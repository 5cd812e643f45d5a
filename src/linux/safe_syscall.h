// A host system call that a guest signal cannot slip past (x86-64 hosts).
//
// The race it closes: Vireo looks at the pending signals before it passes a guest syscall to
// the host; a signal that arrives after that look but before the host `syscall` instruction is
// recorded by the host handler (signals.cpp), yet the host call then blocks (a futex wait, a
// read on an empty pipe, ...) until something else wakes it: the signal is seen only when
// the call returns, which may be never (glibc's set*id broadcast waits for every thread's
// handler).
//
// The fix, the idea of QEMU's safe_syscall: a small assembly stub loads the thread's "signal
// arrived" word (its cpu.exit_request) and, if it is set, returns kRestartSys without making
// the call; otherwise it executes `syscall`. A signal that arrives between that load and the
// `syscall` instruction would not be seen by the load, so the host handler, which gets the
// interrupted context, moves a PC inside [stub start, the syscall instruction] (inclusive: the
// instruction has not run yet) to the stub's kRestartSys exit (divert_safe_syscall). Either way
// the call never happened, and the run loop restarts the guest syscall after delivering the
// signal, whatever SA_RESTART says (process.cpp). A signal that arrives once the kernel has
// the call interrupts it as before (EINTR, or the call's partial result).
#pragma once

#include <cstdint>

namespace vireo {

// The kernel's -ERESTARTSYS: the call never started because a signal came first. Never seen
// by the guest: handle_syscall turns it into a restart of the syscall instruction.
inline constexpr int64_t kRestartSys = -512;

// Host syscall `nr` with up to six arguments, unless *arrived is non-zero (checked as described
// above): the kernel's result (-errno on failure, errno is untouched), or kRestartSys.
extern "C" long vireo_safe_syscall(const volatile uint32_t* arrived, long nr, long a1, long a2,
                                   long a3, long a4, long a5, long a6);

// From a host signal handler, with its ucontext: when the interrupted PC lies in the stub
// before or at its `syscall` instruction, moves it to the kRestartSys exit and returns true.
bool divert_safe_syscall(void* ucontext);

// Whether the interrupted context is the stub just after its `syscall` returned -EINTR: the
// blocking call itself was interrupted (signals.cpp uses this for its wake-up signal).
bool interrupted_safe_syscall(const void* ucontext);

}  // namespace vireo
