// Guest signals: pending state, delivery to guest handlers through a Linux x86-64 rt_sigframe,
// rt_sigreturn, and death by a signal.
//
// How a signal reaches the guest:
//  - Host-side signals (from other processes, timers, or the guest's own kill/tgkill, which pass
//    through to the host) arrive at a host handler that Vireo installs whenever the guest
//    installs a handler (syscalls/signal.cpp mirrors SIG_IGN/SIG_DFL as they are). The host
//    handler records the signal and its siginfo as pending and sets cpu.exit_request, so the
//    engine stops at its next check; the run loop then builds the guest frame.
//  - The guest's blocked mask is mirrored onto the host mask (except for the signals Vireo needs
//    for itself: SIGSEGV/SIGBUS catch guest memory faults, and the synchronous SIGILL, SIGFPE,
//    SIGTRAP), so a blocked signal stays pending in the host kernel, exactly as it would for the
//    guest natively, and sigpending/sigsuspend/sigtimedwait mostly pass through.
//  - Signals the host cannot hold for us (guest faults; kill to self of a non-mirrored signal)
//    are pending here, in the same set. One made pending for another thread also wakes that
//    thread from a blocking host call with a host signal of Vireo's own (wake_thread).
//  - Blocking host calls go through safe_syscall.h's stub, which tests cpu.exit_request (raised
//    with every pending signal) and which the host handler diverts when the signal lands just
//    before the `syscall` instruction: a signal is never left waiting behind a call that blocks.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>
#include <cstring>

namespace vireo {

class Process;
struct CpuState;
struct GuestThread;

// The kernel's siginfo (128 bytes; the x86-64 host siginfo_t has the same layout).
struct GuestSiginfo {
  int32_t signo = 0, err = 0, code = 0, pad = 0;
  uint8_t fields[112] = {};  // union: {pid, uid} for kill, {addr} for faults, ...
  void set_u32(unsigned off, uint32_t v) { std::memcpy(fields + off, &v, 4); }
  void set_u64(unsigned off, uint64_t v) { std::memcpy(fields + off, &v, 8); }
  uint64_t u64(unsigned off) const {
    uint64_t v;
    std::memcpy(&v, fields + off, 8);
    return v;
  }
};
static_assert(sizeof(GuestSiginfo) == 128);
// (the host handler fills one with a memcpy of the host's siginfo_t)
static_assert(std::is_trivially_copyable_v<GuestSiginfo>);

inline constexpr uint64_t sigbit(int sig) { return uint64_t(1) << (sig - 1); }

// One guest thread's pending signals (those directed at it, or that the host kernel chose it
// for), written by the host handler on that thread or by a sibling (tgkill), read by the
// thread's run loop. The siginfo slot is filled before the pending bit is published; standard
// signals do not queue, so one slot each is what Linux keeps too.
struct ThreadSignals {
  std::atomic<uint64_t> pending{0};
  GuestSiginfo info[65];
  CpuState* cpu = nullptr;  // whose exit_request a new signal raises
  // Set when wake_thread's host signal interrupted a blocking call of this thread: the call
  // returned EINTR for a signal Vireo holds, which the thread may not take after all (another
  // thread took a process-directed one, or it was blocked meanwhile). Cleared as each guest
  // syscall starts, taken by Process::restart_after_signal.
  std::atomic<bool> woken{false};
};

// The signals a guest can never block or catch.
inline constexpr uint64_t kUnblockable = sigbit(9) | sigbit(19);  // SIGKILL, SIGSTOP

enum class DefaultAction { Terminate, Ignore, Stop, Continue };
DefaultAction default_action(int sig);

// Makes `t` the calling host thread's pending set: the host handler records signals there and
// raises t->cpu's exit request (set by each thread's run loop; nullptr while none runs).
void set_signal_thread(ThreadSignals* t);

// Signals whose host disposition follows the guest's (see above).
bool mirrored_on_host(int sig);
// Installs the recording host handler for `sig` (the guest installed a handler for it).
void install_recording_handler(int sig);
// Sets the host disposition of `sig` from the guest's again (host glibc took it: threads.cpp).
void remirror_disposition(Process& p, int sig);

// Pending signals of the calling thread not held by the host kernel: its own and the
// process-directed ones Vireo holds, with their siginfo.
uint64_t pending_signals();
// Makes `sig` pending for the calling thread (a fault, a signal a thread sends itself).
void add_pending(int sig, const GuestSiginfo& info);
// Makes `sig` pending for thread `t` and raises its exit request (tgkill to a sibling); a
// sibling that does not block `sig` is woken from a blocking host call (wake_thread).
void add_thread_pending(GuestThread& t, int sig, const GuestSiginfo& info);
// Interrupts thread `t`'s blocking host call, if it is in one (not the calling thread: false),
// with a host SIGFPE sent by tgkill: a guest's SIGFPE never reaches the host (Vireo records
// it), and the handler tells this one from a real fault by its sender, our own pid. Its exit
// request must be raised first: the wake-up only ends the call, the run loop finds the signal.
bool wake_thread(GuestThread& t);
// The word safe_syscall.h's stub tests before a blocking host call: the calling thread's
// cpu.exit_request (a word that is always zero on a host thread without a guest thread).
const volatile uint32_t* signal_arrived_word();
// Makes `sig` pending for the process: whichever thread does not block it takes it (the
// caller raises their exit requests and wakes one: Process::wake_threads_for).
void add_process_pending(int sig, const GuestSiginfo& info);
void clear_pending();  // a forked child starts with none
// Takes `sig` off the calling thread's pending set (else the process's) and returns its siginfo.
GuestSiginfo take_pending(int sig);
// The signal Linux delivers first out of `ready`: synchronous ones, then the lowest number.
int next_signal(uint64_t ready);

// Start-up: the guest's mask is the one Vireo inherited (fork/execve keep it).
void init_guest_signals(Process& p);

// Sets the guest's blocked mask and the host mask that mirrors it. A default-fatal signal that
// is pending on the host and becomes unblocked kills the guest here, with the diagnostic line.
void set_guest_mask(Process& p, uint64_t mask);
// The host mask that mirrors guest mask `mask`.
uint64_t host_mask_for(uint64_t mask);

// Delivers pending, unblocked signals (one frame; exit_request is raised again when more are
// waiting, so the next one nests on top as on Linux). Dies for a default-fatal one.
void deliver_pending(Process& p);
// Delivers a synchronous fault signal: to the guest handler if it has one and the signal is not
// blocked; otherwise the guest dies by it (Linux forces the default action).
void deliver_fault(Process& p, int sig, const GuestSiginfo& info);

// The signal and siginfo Linux raises for the fault the engine stopped with (cpu.fault).
GuestSiginfo fault_siginfo(Process& p);
// si_code of the SIGFPE for an unmasked x87 (#MF) or SSE (#XM) exception, from the unmasked
// exception bits (the kernel's fpu__exception_code order).
int fp_code(unsigned unmasked);

// rt_sigreturn: restores the state saved in the frame at rsp-8. Returns the restored rax, or
// dies with SIGSEGV on a frame that cannot be read (as Linux does).
int64_t signal_return(Process& p);

// Ends Vireo by that very signal, so that a waiting parent sees WIFSIGNALED/WTERMSIG. For a
// signal whose default action dumps core (signal(7): SIGSEGV, SIGILL, SIGABRT, ...) it first
// prints "vireo: guest terminated by SIGxxx at pc=… address …" (unless `message` is false), as
// qemu-user reports those; a plain terminating signal (SIGPIPE, SIGTERM, SIGINT, ...) ends the
// guest silently, as it ends a native process: `sort | head` must not add a line to stderr.
[[noreturn]] void die_by_signal(Process& p, int sig, uint64_t address, bool message = true);

// Whether wake_thread's signal interrupted the calling thread's blocking host call of this
// syscall (then cleared).
bool take_woken();

// Syscall restart after an interruption (-EINTR from the host): whether `nr` is restarted
// under SA_RESTART (Linux never restarts sleeps, waits for signals, poll/select/epoll).
bool restartable_syscall(uint64_t nr);

}  // namespace vireo
