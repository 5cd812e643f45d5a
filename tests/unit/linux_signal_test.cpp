// Guest signals: the rt_sigframe a handler sees (layout, alignment, red zone, alternate stack,
// masks, FPU image), rt_sigreturn restoring every register, delivery of asynchronous and fault
// signals to guest code under both engines, and a guest dying by its signal.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "interp/interpreter.h"
#include "jit/jit_engine.h"
#include "linux/process.h"
#include "linux/signals.h"
#include "linux/syscalls/syscall_table.h"
#include "linux/threads.h"

namespace vireo {
namespace {

constexpr uint64_t kCode = 0x400000, kData = 0x10000, kStack = 0x800000, kStackSize = 0x10000;
constexpr uint64_t kAlt = 0x900000, kAltSize = 0x4000;
constexpr uint64_t kHandler = kCode + 0x800, kRestorer = kCode + 0xF00;

// Frame offsets (see signal_frame.cpp): uc at 8, uc_stack at 24, sigcontext at 48, mask at 304,
// siginfo at 312; sigcontext fields: rdi 64, rax 104, rsp 120, rip 128, eflags 136, err 152,
// trapno 160, oldmask 168, cr2 176, fpstate 184.
constexpr uint64_t kMc = 48;

class LinuxSignal : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    RunOptions o;
    o.program = "/guest";
    std::string engine = GetParam();
    o.make_engine = [engine](const GuestMemory& m) -> std::unique_ptr<Engine> {
      if (engine == "jit") return std::make_unique<jit::JitEngine>(m, jit::JitOptions{});
      return std::make_unique<Interpreter>(m);
    };
    p = std::make_unique<Process>(o);
    p->load_empty();
    auto map = [&](uint64_t at, uint64_t len, int prot) {
      ASSERT_EQ(p->as().mmap(at, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), int64_t(at));
    };
    map(kCode, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC);
    map(kData, 0x1000, PROT_READ | PROT_WRITE);
    map(kStack, kStackSize, PROT_READ | PROT_WRITE);
    map(kAlt, kAltSize, PROT_READ | PROT_WRITE);
    // The restorer every libc installs: mov eax, 15; syscall.
    code(kRestorer, {0xB8, 0x0F, 0, 0, 0, 0x0F, 0x05});
    p->cpu().gpr[RSP] = kStack + kStackSize - 0x100 - 8;  // an odd place, as at a call
  }
  void TearDown() override {
    set_guest_mask(*p, 0);
    clear_pending();
    ::signal(SIGUSR1, SIG_DFL);
  }
  void code(uint64_t at, std::vector<uint8_t> bytes) {
    std::memcpy(p->as().host(at), bytes.data(), bytes.size());
  }
  template <class T>
  T peek(uint64_t at) {
    T v;
    std::memcpy(&v, p->as().host(at), sizeof v);
    return v;
  }
  void handler(int sig, uint64_t flags, uint64_t mask = 0) {
    p->sigactions[sig] = {kHandler, flags | 0x04000000 /* SA_RESTORER */, kRestorer, mask};
  }
  int64_t call(uint64_t nr, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0) {
    return syscall_table()[nr].fn(*p, SyscallArgs{{a0, a1, a2, a3, 0, 0}});
  }
  std::unique_ptr<Process> p;
};

TEST_P(LinuxSignal, FrameLayoutAndSigreturnRestoreEverything) {
  CpuState& c = p->cpu();
  for (int i = 0; i < 16; ++i)
    if (i != RSP) c.gpr[i] = 0x1111111111111111ull * uint64_t(i + 1);
  c.rip = kCode + 0x40;
  c.rflags = flag::FIXED1 | flag::IF | flag::CF | flag::ZF | flag::DF;
  c.mxcsr = 0x1F80 | 0x6000;  // round toward zero
  c.xmm[3].u64[0] = 0xDEADBEEFCAFEF00Dull;
  c.x87.fcw = 0x27F;
  uint64_t rsp0 = c.gpr[RSP];
  set_guest_mask(*p, sigbit(SIGUSR2));
  handler(SIGUSR1, 0, sigbit(SIGHUP));
  GuestSiginfo si;
  si.signo = SIGUSR1;
  si.code = SI_USER;
  si.set_u32(0, 4242);
  add_pending(SIGUSR1, si);
  deliver_pending(*p);

  uint64_t f = c.gpr[RSP];
  EXPECT_EQ((f + 8) % 16, 0u) << "ABI alignment at handler entry";
  EXPECT_LE(f + 440 + 512, rsp0 - 128) << "frame and fpstate below the red zone";
  EXPECT_EQ(c.rip, kHandler);
  EXPECT_EQ(c.gpr[RDI], uint64_t(SIGUSR1));
  EXPECT_EQ(c.gpr[RSI], f + 312);
  EXPECT_EQ(c.gpr[RDX], f + 8);
  EXPECT_EQ(c.gpr[RAX], 0u);
  EXPECT_FALSE(c.rflags & flag::DF) << "handlers start with DF clear";
  EXPECT_EQ(c.mxcsr, 0x1F80u) << "handlers start with the initial FPU state";
  EXPECT_EQ(c.xmm[3].u64[0], 0u);
  EXPECT_EQ(p->thread().sigmask, sigbit(SIGUSR2) | sigbit(SIGUSR1) | sigbit(SIGHUP));

  EXPECT_EQ(peek<uint64_t>(f), kRestorer) << "pretcode";
  // (the flags as last given, raw: 0 in a thread that never called sigaltstack, as natively;
  // sigaltstack itself would report SS_DISABLE)
  EXPECT_EQ(peek<int32_t>(f + 32), 0) << "uc_stack.ss_flags";
  EXPECT_EQ(peek<uint64_t>(f + kMc + 0), 0x9999999999999999ull) << "r8";
  EXPECT_EQ(peek<uint64_t>(f + kMc + 64), 0x8888888888888888ull) << "rdi";
  EXPECT_EQ(peek<uint64_t>(f + kMc + 104), 0x1111111111111111ull) << "rax";
  EXPECT_EQ(peek<uint64_t>(f + kMc + 112), 0x2222222222222222ull) << "rcx";
  EXPECT_EQ(peek<uint64_t>(f + kMc + 120), rsp0) << "rsp";
  EXPECT_EQ(peek<uint64_t>(f + kMc + 128), kCode + 0x40) << "rip";
  EXPECT_TRUE(peek<uint64_t>(f + kMc + 136) & flag::DF) << "eflags";
  EXPECT_EQ(peek<uint16_t>(f + kMc + 144), 0x33) << "cs";
  EXPECT_EQ(peek<uint64_t>(f + kMc + 168), sigbit(SIGUSR2)) << "oldmask";
  EXPECT_EQ(peek<uint64_t>(f + 304), sigbit(SIGUSR2)) << "uc_sigmask";
  EXPECT_EQ(peek<int32_t>(f + 312), SIGUSR1) << "si_signo";
  EXPECT_EQ(peek<int32_t>(f + 312 + 8), SI_USER) << "si_code";
  EXPECT_EQ(peek<int32_t>(f + 312 + 16), 4242) << "si_pid";
  uint64_t fx = peek<uint64_t>(f + kMc + 184);
  EXPECT_EQ(fx % 16, 0u);
  EXPECT_GE(fx, f + 440);
  EXPECT_EQ(peek<uint16_t>(fx), 0x27F) << "fxsave FCW";
  EXPECT_EQ(peek<uint32_t>(fx + 24), 0x7F80u) << "fxsave MXCSR";
  EXPECT_EQ(peek<uint64_t>(fx + 160 + 3 * 16), 0xDEADBEEFCAFEF00Dull) << "fxsave XMM3";

  // The handler runs and returns: ret pops pretcode, the restorer calls rt_sigreturn.
  c.gpr[RAX] = c.gpr[RCX] = c.gpr[R11] = 0x5555;
  c.gpr[RSP] = f + 8;
  EXPECT_EQ(call(SYS_rt_sigreturn), int64_t(0x1111111111111111ull)) << "returns the saved rax";
  for (int i = 0; i < 16; ++i)
    if (i != RSP) EXPECT_EQ(c.gpr[i], 0x1111111111111111ull * uint64_t(i + 1)) << "gpr " << i;
  EXPECT_EQ(c.gpr[RSP], rsp0);
  EXPECT_EQ(c.rip, kCode + 0x40);
  EXPECT_EQ(c.rflags & flag::ARITH, flag::CF | flag::ZF);
  EXPECT_TRUE(c.rflags & flag::DF);
  EXPECT_EQ(c.mxcsr, 0x7F80u);
  EXPECT_EQ(c.xmm[3].u64[0], 0xDEADBEEFCAFEF00Dull);
  EXPECT_EQ(c.x87.fcw, 0x27F);
  EXPECT_EQ(p->thread().sigmask, sigbit(SIGUSR2));
}

TEST_P(LinuxSignal, AltStackNodeferAndResethand) {
  uint64_t ss[3] = {kAlt, 0, kAltSize};
  std::memcpy(p->as().host(kData), ss, 24);
  ASSERT_EQ(call(SYS_sigaltstack, kData, 0), 0);
  handler(SIGUSR1, SA_ONSTACK | SA_NODEFER | SA_RESETHAND);
  uint64_t rsp0 = p->cpu().gpr[RSP];
  add_pending(SIGUSR1, GuestSiginfo{SIGUSR1});
  deliver_pending(*p);
  uint64_t f = p->cpu().gpr[RSP];
  EXPECT_GT(f, kAlt);
  EXPECT_LT(f, kAlt + kAltSize);
  EXPECT_EQ((f + 8) % 16, 0u);
  EXPECT_EQ(peek<uint64_t>(f + 24), kAlt) << "uc_stack.ss_sp";
  EXPECT_EQ(peek<int32_t>(f + 32), 0) << "not on the alternate stack when interrupted";
  EXPECT_EQ(p->thread().sigmask & sigbit(SIGUSR1), 0u) << "SA_NODEFER";
  EXPECT_EQ(p->sigactions[SIGUSR1].handler, uint64_t(SIG_DFL)) << "SA_RESETHAND";
  // While on it, sigaltstack reports SS_ONSTACK and refuses changes.
  ASSERT_EQ(call(SYS_sigaltstack, 0, kData + 64), 0);
  EXPECT_EQ(peek<int32_t>(kData + 72), SS_ONSTACK);
  EXPECT_EQ(call(SYS_sigaltstack, kData, 0), -EPERM);
  p->cpu().gpr[RSP] = f + 8;
  call(SYS_rt_sigreturn);
  EXPECT_EQ(p->cpu().gpr[RSP], rsp0);
}

// Guest code: getpid, kill(self, SIGUSR1), then exit_group with what the handler stored.
TEST_P(LinuxSignal, KillToSelfRunsTheGuestHandler) {
  code(kCode, {0xB8, 39, 0, 0, 0, 0x0F, 0x05,          // mov eax, 39 (getpid); syscall
               0x89, 0xC7,                              // mov edi, eax
               0xBE, SIGUSR1, 0, 0, 0,                  // mov esi, SIGUSR1
               0xB8, 62, 0, 0, 0, 0x0F, 0x05,           // mov eax, 62 (kill); syscall
               0x8B, 0x3C, 0x25, 0x00, 0x01, 0x01, 0x00,  // mov edi, [0x10100]
               0x01, 0xC7,                              // add edi, eax (kill's 0 survives)
               0xB8, 231, 0, 0, 0, 0x0F, 0x05});        // exit_group(edi)
  code(kHandler, {0x89, 0x3C, 0x25, 0x00, 0x01, 0x01, 0x00,  // mov [0x10100], edi
                  0xB8, 0x77, 0, 0, 0,                        // mov eax, 0x77 (clobbered)
                  0xC3});
  handler(SIGUSR1, 0);
  install_recording_handler(SIGUSR1);
  p->cpu().rip = kCode;
  EXPECT_EQ(p->run(), SIGUSR1);
}

// A host signal stops a guest spinning in a tight loop; the handler ends the spin.
TEST_P(LinuxSignal, AsyncSignalInterruptsATightLoop) {
  code(kCode, {0x83, 0x3C, 0x25, 0x00, 0x01, 0x01, 0x00, 0x00,  // cmp dword [0x10100], 0
               0x74, 0xF6,                                     // je back
               0x8B, 0x3C, 0x25, 0x00, 0x01, 0x01, 0x00,        // mov edi, [0x10100]
               0xB8, 231, 0, 0, 0, 0x0F, 0x05});
  code(kHandler, {0x89, 0x3C, 0x25, 0x00, 0x01, 0x01, 0x00, 0xC3});
  handler(SIGUSR1, 0);
  install_recording_handler(SIGUSR1);
  p->cpu().rip = kCode;
  pid_t tid = ::gettid();
  std::thread sender([tid] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    ::syscall(SYS_tgkill, ::getpid(), tid, SIGUSR1);
  });
  int status = p->run();
  sender.join();
  EXPECT_EQ(status, SIGUSR1);
}

// A page fault becomes SIGSEGV with si_addr/si_code; the handler skips the instruction by
// editing uc_mcontext.rip.
TEST_P(LinuxSignal, FaultGoesToHandlerWhichEditsTheContext) {
  code(kCode, {0x8B, 0x04, 0x25, 0x08, 0, 0, 0,          // mov eax, [0x8]  (unmapped)
               0x31, 0xFF,                              // xor edi, edi
               0xB8, 231, 0, 0, 0, 0x0F, 0x05});
  code(kHandler, {0x48, 0x8B, 0x46, 0x10,                         // mov rax, [rsi+16]  si_addr
                  0x48, 0x89, 0x04, 0x25, 0x08, 0x01, 0x01, 0x00,  // mov [0x10108], rax
                  0x8B, 0x46, 0x08,                               // mov eax, [rsi+8]   si_code
                  0x89, 0x04, 0x25, 0x10, 0x01, 0x01, 0x00,        // mov [0x10110], eax
                  0x48, 0x83, 0x82, 0xA8, 0, 0, 0, 0x07,           // add qword [rdx+168], 7
                  0xC3});
  handler(SIGSEGV, SA_SIGINFO);
  p->cpu().rip = kCode;
  EXPECT_EQ(p->run(), 0);
  EXPECT_EQ(peek<uint64_t>(kData + 0x108), 8u);
  EXPECT_EQ(peek<int32_t>(kData + 0x110), SEGV_MAPERR);
}

TEST_P(LinuxSignal, UnhandledFaultKillsByTheSignal) {
  code(kCode, {0x0F, 0x0B});  // ud2
  p->cpu().rip = kCode;
  EXPECT_EXIT(p->run(), ::testing::KilledBySignal(SIGILL), "vireo: guest terminated by SIGILL at pc=0x400000");
}

TEST_P(LinuxSignal, BlockedFaultStillKills) {
  code(kCode, {0x8B, 0x04, 0x25, 0x08, 0, 0, 0});
  handler(SIGSEGV, SA_SIGINFO);
  set_guest_mask(*p, sigbit(SIGSEGV));
  p->cpu().rip = kCode;
  EXPECT_EXIT(p->run(), ::testing::KilledBySignal(SIGSEGV), "guest terminated by SIGSEGV at pc=0x400000 address 0x8");
}

TEST_P(LinuxSignal, KillSelfWithDefaultActionDiesByIt) {
  // Silently, as a native process dies of a signal that does not dump core.
  EXPECT_EXIT(call(SYS_kill, uint64_t(::getpid()), SIGTERM), ::testing::KilledBySignal(SIGTERM),
              "^$");
  EXPECT_EXIT(call(SYS_tgkill, uint64_t(::getpid()), uint64_t(::gettid()), SIGPIPE),
              ::testing::KilledBySignal(SIGPIPE), "^$");
  // A signal that dumps core is reported, as qemu-user reports it.
  EXPECT_EXIT(call(SYS_tgkill, uint64_t(::getpid()), uint64_t(::gettid()), SIGABRT),
              ::testing::KilledBySignal(SIGABRT), "vireo: guest terminated by SIGABRT at pc=");
  // Blocked: pending until unblocked, then fatal.
  EXPECT_EXIT(
      {
        set_guest_mask(*p, sigbit(SIGTERM));
        call(SYS_kill, uint64_t(::getpid()), SIGTERM);
        set_guest_mask(*p, 0);
      },
      ::testing::KilledBySignal(SIGTERM), "^$");
  // Ignored: nothing happens.
  p->sigactions[SIGCHLD] = {};
  EXPECT_EQ(call(SYS_kill, uint64_t(::getpid()), SIGCHLD), 0);
}

TEST_P(LinuxSignal, SigreturnWithBadFpstateIsSigsegv) {
  handler(SIGUSR1, 0);
  add_pending(SIGUSR1, GuestSiginfo{SIGUSR1});
  deliver_pending(*p);
  uint64_t f = p->cpu().gpr[RSP];
  uint64_t fx = peek<uint64_t>(f + kMc + 184);
  uint32_t bad = 0xFFFFFFFF;  // reserved MXCSR bits
  std::memcpy(p->as().host(fx + 24), &bad, 4);
  p->cpu().gpr[RSP] = f + 8;
  EXPECT_EXIT(call(SYS_rt_sigreturn), ::testing::KilledBySignal(SIGSEGV), "guest terminated by SIGSEGV");
}

INSTANTIATE_TEST_SUITE_P(Engines, LinuxSignal, ::testing::Values("interp", "jit"));

TEST(LinuxSyscallNames, EveryNumberIsNamed) {
  EXPECT_STREQ(syscall_name(SYS_msync), "msync");
  EXPECT_STREQ(syscall_name(SYS_io_uring_setup), "io_uring_setup");
  EXPECT_STREQ(syscall_name(SYS_futex_waitv), "futex_waitv");
  EXPECT_EQ(syscall_name(335), nullptr);  // never assigned on x86-64
  EXPECT_EQ(absent_syscall(SYS_io_uring_setup)->error, ENOSYS);  // as without CONFIG_IO_URING
}

TEST(LinuxMsync, PassesThroughWithRangeChecks) {
  RunOptions o;
  o.program = "/guest";
  o.make_engine = [](const GuestMemory& m) { return std::make_unique<Interpreter>(m); };
  Process p(o);
  p.load_empty();
  ASSERT_EQ(p.as().mmap(kData, 0x2000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
            int64_t(kData));
  auto call = [&](uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2) {
    return syscall_table()[nr].fn(p, SyscallArgs{{a0, a1, a2, 0, 0, 0}});
  };
  EXPECT_EQ(call(SYS_msync, kData, 0x2000, MS_SYNC), 0);
  EXPECT_EQ(call(SYS_msync, kData + 1, 0x1000, MS_SYNC), -EINVAL);
  EXPECT_EQ(call(SYS_msync, uint64_t(1) << 50, 0x1000, MS_SYNC), -ENOMEM);
  EXPECT_EQ(call(SYS_msync, kData, 0x1000, MS_SYNC | MS_ASYNC), -EINVAL);
}

}  // namespace
}  // namespace vireo
