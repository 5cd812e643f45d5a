// The safe_syscall stub (src/linux/safe_syscall.h): the call is made when no signal arrived,
// not made when the word is set, and a signal whose handler finds the PC in the stub up to
// and including the `syscall` instruction turns it into kRestartSys without the call. Signals
// are made to land at an exact instruction by single-stepping the stub (EFLAGS.TF): the
// SIGTRAP handler acts when the next instruction is the one a test names. Also the wake-up
// signal (signals.h, wake_thread) ending another thread's blocking call.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "empty_process.h"
#include "linux/safe_syscall.h"
#include "linux/signals.h"
#include "linux/syscalls/host_call.h"
#include "linux/threads.h"

extern "C" const char vireo_safe_syscall_insn[];

namespace vireo {
namespace {

constexpr greg_t kTF = 0x100;

struct Pipe {
  int fd[2];
  Pipe() { EXPECT_EQ(::pipe2(fd, O_NONBLOCK), 0); }
  ~Pipe() { ::close(fd[0]), ::close(fd[1]); }
  long available() const {
    char buf[16];
    long n = ::read(fd[0], buf, sizeof buf);
    return n < 0 ? 0 : n;
  }
};

TEST(SafeSyscall, MakesTheCallWhenNoSignalArrived) {
  const volatile uint32_t word = 0;
  EXPECT_EQ(vireo_safe_syscall(&word, SYS_getpid, 0, 0, 0, 0, 0, 0), ::getpid());
  EXPECT_EQ(vireo_safe_syscall(&word, SYS_close, -1, 0, 0, 0, 0, 0), -EBADF);  // -errno, as the kernel
  Pipe p;
  char c = 'x';
  EXPECT_EQ(vireo_safe_syscall(&word, SYS_write, p.fd[1], long(&c), 1, 0, 0, 0), 1);
  EXPECT_EQ(p.available(), 1);
  // All six arguments reach the kernel (the last two come from the stack).
  uint64_t mask = 0, old = 1;
  EXPECT_EQ(vireo_safe_syscall(&word, SYS_rt_sigprocmask, SIG_BLOCK, long(&mask), long(&old), 8, 0, 0), 0);
  uint64_t now = 0;
  ::syscall(SYS_rt_sigprocmask, SIG_BLOCK, nullptr, &now, 8L);
  EXPECT_EQ(old, now);
}

TEST(SafeSyscall, ReturnsRestartWithoutTheCallWhenTheWordIsSet) {
  const volatile uint32_t word = 1;
  Pipe p;
  char c = 'x';
  EXPECT_EQ(vireo_safe_syscall(&word, SYS_write, p.fd[1], long(&c), 1, 0, 0, 0), kRestartSys);
  EXPECT_EQ(p.available(), 0);
}

// ---- a signal at an exact instruction ----

enum class AtTarget { Divert, RaiseUsr1 };
uintptr_t g_target;
AtTarget g_action;
std::atomic<int> g_hits, g_steps;

void on_trap(int, siginfo_t*, void* ctx) {
  auto* uc = static_cast<ucontext_t*>(ctx);
  const uintptr_t pc = uintptr_t(uc->uc_mcontext.gregs[REG_RIP]);
  const bool hit = pc == g_target;
  if (!hit && ++g_steps < 100000) return;
  uc->uc_mcontext.gregs[REG_EFL] &= ~kTF;
  if (!hit) return;
  ++g_hits;
  // RaiseUsr1: the signal (blocked while this handler runs) is delivered as it returns, with
  // the PC the target.
  if (g_action == AtTarget::Divert) divert_safe_syscall(ctx);
  else ::syscall(SYS_tgkill, ::getpid(), ::gettid(), SIGUSR1);
}

// Writes one byte to `fd` through the stub, single-stepping until the PC is `target`.
__attribute__((noinline)) long stepped_write(const volatile uint32_t* word, int fd, uintptr_t target,
                                             AtTarget action) {
  struct sigaction sa {}, old {};
  sa.sa_sigaction = on_trap;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGUSR1);
  ::sigaction(SIGTRAP, &sa, &old);
  g_target = target;
  g_action = action;
  g_hits = 0;
  g_steps = 0;
  static char c = 'x';
  asm volatile("pushfq; orq $0x100, (%%rsp); popfq" ::: "memory", "cc");
  long r = vireo_safe_syscall(word, SYS_write, fd, long(&c), 1, 0, 0, 0);
  asm volatile("pushfq; andq $~0x100, (%%rsp); popfq" ::: "memory", "cc");
  ::sigaction(SIGTRAP, &old, nullptr);
  return r;
}

const uintptr_t kEntry = uintptr_t(&vireo_safe_syscall);
const uintptr_t kInsn = uintptr_t(vireo_safe_syscall_insn);

TEST(SafeSyscall, DivertAtTheEntryOrTheSyscallInstructionSkipsTheCall) {
  const volatile uint32_t word = 0;
  for (uintptr_t target : {kEntry, kInsn}) {
    Pipe p;
    EXPECT_EQ(stepped_write(&word, p.fd[1], target, AtTarget::Divert), kRestartSys);
    EXPECT_EQ(g_hits, 1);
    EXPECT_EQ(p.available(), 0);
  }
}

TEST(SafeSyscall, DivertOutsideTheWindowChangesNothing) {
  ucontext_t uc{};
  for (uintptr_t pc : {kEntry - 1, kInsn + 2, uintptr_t(&::getpid)}) {
    uc.uc_mcontext.gregs[REG_RIP] = greg_t(pc);
    EXPECT_FALSE(divert_safe_syscall(&uc));
    EXPECT_EQ(uintptr_t(uc.uc_mcontext.gregs[REG_RIP]), pc);
  }
  // After the call returned EINTR: the interruption wake_thread's handler records.
  uc.uc_mcontext.gregs[REG_RIP] = greg_t(kInsn + 2);
  uc.uc_mcontext.gregs[REG_RAX] = -EINTR;
  EXPECT_TRUE(interrupted_safe_syscall(&uc));
  uc.uc_mcontext.gregs[REG_RAX] = 1;
  EXPECT_FALSE(interrupted_safe_syscall(&uc));
}

// The recording host handler itself diverts a guest signal that lands on the `syscall`
// instruction, and leaves it pending with the exit request raised.
TEST(SafeSyscall, GuestSignalJustBeforeTheCallIsRecordedAndTheCallSkipped) {
  auto p = empty_interp_process();
  install_recording_handler(SIGUSR1);
  for (uintptr_t target : {kEntry, kInsn}) {
    Pipe pipe;
    p->cpu().exit_request = 0;
    EXPECT_EQ(stepped_write(signal_arrived_word(), pipe.fd[1], target, AtTarget::RaiseUsr1), kRestartSys);
    EXPECT_EQ(g_hits, 1);
    EXPECT_EQ(pipe.available(), 0);
    EXPECT_EQ(p->cpu().exit_request, 1u);
    EXPECT_TRUE(pending_signals() & sigbit(SIGUSR1));
    clear_pending();
  }
  // Once the run loop has cleared the exit request, the call is made.
  p->cpu().exit_request = 0;
  Pipe pipe;
  char c = 'y';
  EXPECT_EQ(blocking_call(SYS_write, pipe.fd[1], hp(&c), 1), 1);
  EXPECT_EQ(pipe.available(), 1);
  ::signal(SIGUSR1, SIG_DFL);
}

// A sibling's wake-up ends a read blocked on an empty pipe: EINTR, marked as only a wake-up.
TEST(SafeSyscall, WakeThreadEndsABlockingCall) {
  auto p = empty_interp_process();
  GuestThread& me = p->thread();
  int fd[2];
  ASSERT_EQ(::pipe(fd), 0);
  std::atomic<bool> done{false};
  std::thread waker([&] {
    // (repeated: the first may come before the read has started, and only ends a started call)
    while (!done) {
      wake_thread(me);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  char c;
  int64_t r = blocking_call(SYS_read, fd[0], hp(&c), 1);
  done = true;
  waker.join();
  // A wake-up that landed just before the `syscall` instruction diverts it instead.
  if (r != kRestartSys) {
    EXPECT_EQ(r, -EINTR);
    EXPECT_TRUE(take_woken());
  }
  EXPECT_FALSE(take_woken());
  ::close(fd[0]), ::close(fd[1]);
}

}  // namespace
}  // namespace vireo
