// Guest signal state: the pending set and its siginfo, the recording host handler, the mirrored
// mask, and death by a signal. Frames and delivery are in signal_frame.cpp.
#include "linux/signals.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>

#include "linux/process.h"

namespace vireo {

namespace {

// Written by the host handler (any time) and read by the run loop: the siginfo slot is filled
// before the pending bit is published. Standard signals do not queue, so one slot each is what
// Linux keeps too.
std::atomic<uint64_t> g_pending{0};
GuestSiginfo g_info[65];
std::atomic<CpuState*> g_cpu{nullptr};

void on_host_signal(int sig, siginfo_t* si, void*) {
  std::memcpy(&g_info[sig], si, sizeof(GuestSiginfo));
  g_pending.fetch_or(sigbit(sig));
  if (CpuState* c = g_cpu.load(std::memory_order_relaxed)) c->exit_request = 1;
}

// Vireo's own signals, never blocked on the host: SIGSEGV/SIGBUS report guest memory faults to
// the engines; SIGILL/SIGFPE/SIGTRAP would kill the host outright if raised while blocked.
// 32 and 33 are host glibc's internal signals.
constexpr uint64_t kHostOwned = sigbit(SIGSEGV) | sigbit(SIGBUS) | sigbit(SIGILL) |
                                sigbit(SIGFPE) | sigbit(SIGTRAP) | sigbit(32) | sigbit(33);

void set_host_mask(uint64_t m) { ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &m, nullptr, 8L); }

}  // namespace

DefaultAction default_action(int sig) {
  switch (sig) {
    case SIGCHLD: case SIGURG: case SIGWINCH: return DefaultAction::Ignore;
    case SIGCONT: return DefaultAction::Continue;
    case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU: return DefaultAction::Stop;
    default: return DefaultAction::Terminate;
  }
}

void set_signal_cpu(CpuState* cpu) { g_cpu.store(cpu); }

bool mirrored_on_host(int sig) {
  if (sig < 1 || sig > 64 || sig == SIGKILL || sig == SIGSTOP) return false;
  return !(kHostOwned & sigbit(sig));
}

void install_recording_handler(int sig) {
  struct sigaction sa {};
  sa.sa_sigaction = on_host_signal;
  // No SA_RESTART: an interrupted host call returns EINTR, and the run loop decides, knowing
  // the guest's SA_RESTART, whether the guest sees EINTR or the call again.
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  ::sigaction(sig, &sa, nullptr);
}

uint64_t pending_signals() { return g_pending.load(); }

void add_pending(int sig, const GuestSiginfo& info) {
  g_info[sig] = info;
  g_pending.fetch_or(sigbit(sig));
  if (CpuState* c = g_cpu.load()) c->exit_request = 1;
}

// Takes `sig` off the pending set and returns its siginfo.
GuestSiginfo take_pending(int sig) {
  GuestSiginfo info = g_info[sig];
  g_pending.fetch_and(~sigbit(sig));
  return info;
}

void clear_pending() { g_pending.store(0); }

uint64_t host_mask_for(uint64_t mask) {
  return mask & ~kHostOwned & ~kUnblockable;
}

void set_guest_mask(Process& p, uint64_t mask) {
  mask &= ~kUnblockable;
  if (uint64_t unblocking = p.sigmask & ~mask) {
    // A pending signal with a fatal default action would kill the host as soon as it is
    // unblocked there, silently; end the guest here instead, with the diagnostic line.
    uint64_t host_pending = 0;
    ::syscall(SYS_rt_sigpending, &host_pending, 8L);
    uint64_t now = (host_pending | g_pending.load()) & unblocking;
    for (int sig = 1; sig <= 64; ++sig)
      if ((now & sigbit(sig)) && p.sigactions[sig].handler == uint64_t(SIG_DFL) &&
          default_action(sig) == DefaultAction::Terminate)
        die_by_signal(p, sig, 0);
  }
  p.sigmask = mask;
  set_host_mask(host_mask_for(mask));
  if (g_pending.load() & ~mask) p.cpu().exit_request = 1;
}

void init_guest_signals(Process& p) {
  // The mask is inherited across fork and execve: the guest starts with the one we were given.
  uint64_t inherited = 0;
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, nullptr, &inherited, 8L);
  p.sigmask = inherited & ~kUnblockable;
  set_host_mask(host_mask_for(p.sigmask));
}

void die_by_signal(Process& p, int sig, uint64_t address, bool message) {
  if (message) {
    const char* abbrev = sigabbrev_np(sig);
    fmt::print(stderr, "vireo: guest terminated by {} at pc={:#x} address {:#x}\n",
               abbrev ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", sig),
               p.cpu().rip, address);
  }
  p.print_stats_once();
  std::fflush(nullptr);
  // The guest's core dump would be Vireo's, which helps nobody debugging the guest.
  struct rlimit none {0, 0};
  ::setrlimit(RLIMIT_CORE, &none);
  if (sig != SIGKILL && sig != SIGSTOP) {
    // The kernel's sigaction: SIG_DFL needs no restorer. Raw, so that 32/33 work too.
    struct { uint64_t handler, flags, restorer, mask; } dfl{uint64_t(SIG_DFL), 0, 0, 0};
    ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, 8L);
    uint64_t bit = sigbit(sig);
    ::syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &bit, nullptr, 8L);
    ::syscall(SYS_tgkill, ::getpid(), ::gettid(), sig);
  }
  // SIGKILL (or a signal whose host default did not end us after all).
  ::syscall(SYS_kill, ::getpid(), SIGKILL);
  _exit(128 + sig);
}

bool restartable_syscall(uint64_t nr) {
  switch (nr) {
    // signal(7): never restarted after a handler, whatever SA_RESTART says.
    case SYS_nanosleep: case SYS_clock_nanosleep: case SYS_pause: case SYS_rt_sigsuspend:
    case SYS_rt_sigtimedwait: case SYS_poll: case SYS_ppoll: case SYS_select:
    case SYS_pselect6: case SYS_epoll_wait: case SYS_epoll_pwait: case SYS_epoll_pwait2:
    case SYS_msgrcv: case SYS_msgsnd: case SYS_semop: case SYS_semtimedop:
    case SYS_io_getevents: case SYS_io_pgetevents:
      return false;
    default: return true;
  }
}

}  // namespace vireo
