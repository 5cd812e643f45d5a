// Guest signal state: the pending set and its siginfo, the recording host handler, the mirrored
// mask, and death by a signal. Frames and delivery are in signal_frame.cpp.
#include "linux/signals.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>

#include "gdb/user_target.h"
#include "linux/maps_registry.h"
#include "linux/process.h"
#include "linux/safe_syscall.h"
#include "linux/threads.h"
#include "support/diag_stream.h"

namespace vireo {

namespace {

// The calling host thread's pending set (its guest thread's). The host handler runs on the
// thread the host kernel chose, the one that does not block the signal, which with the guest
// masks mirrored per thread is the thread Linux would choose for the guest.
thread_local ThreadSignals* t_signals = nullptr;
// Process-directed signals Vireo holds itself (a kill(getpid(), SIGSEGV), say): any thread
// that does not block them takes them.
std::atomic<uint64_t> g_process_pending{0};
GuestSiginfo g_process_info[65];

void on_host_signal(int sig, siginfo_t* si, void* ucontext) {
  ThreadSignals* t = t_signals;
  if (!t) {  // (a host thread without a guest thread blocks every signal; just in case)
    std::memcpy(static_cast<void*>(&g_process_info[sig]), si, sizeof(GuestSiginfo));
    g_process_pending.fetch_or(sigbit(sig));
    return;
  }
  std::memcpy(static_cast<void*>(&t->info[sig]), si, sizeof(GuestSiginfo));
  t->pending.fetch_or(sigbit(sig));
  if (CpuState* c = t->cpu) c->exit_request = 1;
  // Just before a blocking host call's `syscall` instruction: the call must not start.
  divert_safe_syscall(ucontext);
}

// The host signal wake_thread sends: never blocked on a guest thread's host (kHostOwned), never
// the guest's (a guest SIGFPE is recorded by Vireo, never raised on the host), and told apart
// from a real one by its sender: Vireo itself, by tgkill.
constexpr int kWakeSignal = SIGFPE;

void on_wake_signal(int sig, siginfo_t* si, void* ucontext) {
  const int saved_errno = errno;
  if (si->si_code != SI_TKILL || si->si_pid != ::getpid()) {
    // A real SIGFPE (a fault in Vireo's own code) or one sent from outside: it ends Vireo, as
    // it did before this handler existed. A fault runs its instruction again on return, now
    // with the default action; a sent signal is sent again (held until we return).
    struct { uint64_t handler, flags, restorer, mask; } dfl{uint64_t(SIG_DFL), 0, 0, 0};
    ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, 8L);
    if (si->si_code <= 0) ::syscall(SYS_tgkill, ::getpid(), ::gettid(), sig);
    errno = saved_errno;
    return;
  }
  // The sender raised our exit request first: before the call, the stub must not make it;
  // in it, EINTR, and the run loop knows the interruption was only this wake-up.
  if (ThreadSignals* t = t_signals; t && !divert_safe_syscall(ucontext) &&
                                    interrupted_safe_syscall(ucontext))
    t->woken.store(true);
  errno = saved_errno;
}

void install_wake_handler() {
  struct sigaction sa {};
  sa.sa_sigaction = on_wake_signal;
  sa.sa_flags = SA_SIGINFO;  // (no SA_RESTART: the wake-up must end a blocking call)
  sigemptyset(&sa.sa_mask);
  ::sigaction(kWakeSignal, &sa, nullptr);
}

// Vireo's own signals, never blocked on the host: SIGSEGV/SIGBUS report guest memory faults to
// the engines; SIGILL/SIGFPE/SIGTRAP would kill the host outright if raised while blocked.
// (32 and 33, host glibc's SIGCANCEL and SIGSETXID, are the guest glibc's too: Vireo itself
// never cancels a thread nor calls setuid, so they are mirrored like the others.)
constexpr uint64_t kHostOwned = sigbit(SIGSEGV) | sigbit(SIGBUS) | sigbit(SIGILL) |
                                sigbit(SIGFPE) | sigbit(SIGTRAP);

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

void set_signal_thread(ThreadSignals* t) { t_signals = t; }

bool mirrored_on_host(int sig) {
  if (sig < 1 || sig > 64 || sig == SIGKILL || sig == SIGSTOP) return false;
  return !(kHostOwned & sigbit(sig));
}

void install_recording_handler(int sig) {
  // No SA_RESTART: an interrupted host call returns EINTR, and the run loop decides, knowing
  // the guest's SA_RESTART, whether the guest sees EINTR or the call again.
  if (sig != 32 && sig != 33) {
    struct sigaction sa {};
    sa.sa_sigaction = on_host_signal;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, nullptr);
    return;
  }
  // glibc's sigaction refuses 32 and 33: the kernel's, raw, with glibc's restorer
  // (__restore_rt) borrowed from the handler it installed for Vireo's SIGSEGV.
  struct KernelSigaction {
    void (*handler)(int, siginfo_t*, void*);
    uint64_t flags;
    void (*restorer)();
    uint64_t mask;
  } sa{}, segv{};
  ::syscall(SYS_rt_sigaction, SIGSEGV, nullptr, &segv, 8L);
  if (!segv.restorer) return;
  constexpr uint64_t kSaRestorer = 0x04000000;  // (uapi asm/signal.h; glibc hides it)
  sa.handler = on_host_signal;
  sa.flags = SA_SIGINFO | kSaRestorer;
  sa.restorer = segv.restorer;
  ::syscall(SYS_rt_sigaction, sig, &sa, nullptr, 8L);
}

uint64_t pending_signals() {
  uint64_t mine = t_signals ? t_signals->pending.load() : 0;
  return mine | g_process_pending.load();
}

namespace {
void record_pending(ThreadSignals& t, int sig, const GuestSiginfo& info) {
  t.info[sig] = info;
  t.pending.fetch_or(sigbit(sig));
  if (CpuState* c = t.cpu) c->exit_request = 1;
}
}  // namespace

void add_pending(int sig, const GuestSiginfo& info) {
  if (!t_signals) return add_process_pending(sig, info);
  record_pending(*t_signals, sig, info);
}

void add_thread_pending(GuestThread& t, int sig, const GuestSiginfo& info) {
  record_pending(t.signals, sig, info);
  // (a signal it blocks must not end its call: Linux would not interrupt it either)
  if (!(t.sigmask & sigbit(sig))) wake_thread(t);
}

bool wake_thread(GuestThread& t) {
  if (&t.signals == t_signals || !t.tid) return false;
  return ::syscall(SYS_tgkill, ::getpid(), t.tid, kWakeSignal) == 0;
}

const volatile uint32_t* signal_arrived_word() {
  static const volatile uint32_t never = 0;
  ThreadSignals* t = t_signals;
  return t && t->cpu ? &t->cpu->exit_request : &never;
}

bool take_woken() { return t_signals && t_signals->woken.exchange(false); }

void add_process_pending(int sig, const GuestSiginfo& info) {
  g_process_info[sig] = info;
  g_process_pending.fetch_or(sigbit(sig));
}

GuestSiginfo take_pending(int sig) {
  if (t_signals && (t_signals->pending.load() & sigbit(sig))) {
    GuestSiginfo info = t_signals->info[sig];
    t_signals->pending.fetch_and(~sigbit(sig));
    return info;
  }
  GuestSiginfo info = g_process_info[sig];
  g_process_pending.fetch_and(~sigbit(sig));
  return info;
}

void clear_pending() {
  if (t_signals) t_signals->pending.store(0);
  g_process_pending.store(0);
}

uint64_t host_mask_for(uint64_t mask) {
  return mask & ~kHostOwned & ~kUnblockable;
}

void set_guest_mask(Process& p, uint64_t mask) {
  mask &= ~kUnblockable;
  GuestThread& t = p.thread();
  if (uint64_t unblocking = t.sigmask & ~mask) {
    // A pending signal with a fatal default action would kill the host as soon as it is
    // unblocked there, silently; end the guest here instead, with the diagnostic line.
    uint64_t host_pending = 0;
    ::syscall(SYS_rt_sigpending, &host_pending, 8L);
    uint64_t now = (host_pending | pending_signals()) & unblocking;
    for (int sig = 1; sig <= 64; ++sig)
      if ((now & sigbit(sig)) && p.sigactions[sig].handler == uint64_t(SIG_DFL) &&
          default_action(sig) == DefaultAction::Terminate)
        die_by_signal(p, sig, 0);
  }
  t.sigmask = mask;
  set_host_mask(host_mask_for(mask));
  if (pending_signals() & ~mask) t.cpu.exit_request = 1;
}

void init_guest_signals(Process& p) {
  install_wake_handler();
  // The mask is inherited across fork and execve: the guest starts with the one we were given.
  uint64_t inherited = 0;
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, nullptr, &inherited, 8L);
  p.thread().sigmask = inherited & ~kUnblockable;
  set_host_mask(host_mask_for(p.thread().sigmask));
}

namespace {
// signal(7)'s "Core" default action.
bool dumps_core(int sig) {
  switch (sig) {
    case SIGABRT: case SIGBUS: case SIGFPE: case SIGILL: case SIGQUIT: case SIGSEGV: case SIGSYS:
    case SIGTRAP: case SIGXCPU: case SIGXFSZ: return true;
    default: return false;
  }
}
}  // namespace

void die_by_signal(Process& p, int sig, uint64_t address, bool message) {
  unpublish_guest_maps();
  if (p.debugger) p.debugger->process_exit(true, sig);
  if (message && dumps_core(sig)) {
    const char* abbrev = sigabbrev_np(sig);
    diag_print(stderr, "vireo: guest terminated by {} at pc={:#x} address {:#x}\n",
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
