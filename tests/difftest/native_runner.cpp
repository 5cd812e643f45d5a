#include "native_runner.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <csetjmp>
#include <cstddef>
#include <cstdlib>
#include <cstring>

extern "C" void difftest_native_enter();

// Linux runs a handler with the interrupted code's EFLAGS.AC (and random code may set it):
// clear it before any C++ runs, or the handler's own misaligned accesses raise #AC again.
asm(".text\n"
    "difftest_on_signal_entry:\n"
    "  pushfq\n"
    "  andl $~0x40000, (%rsp)\n"
    "  popfq\n"
    "  jmp difftest_on_signal\n");
extern "C" void difftest_on_signal_entry(int, siginfo_t*, void*);
extern "C" void difftest_on_signal(int sig, siginfo_t* si, void* ucv);

namespace vireo::difftest {

namespace {

// The loader's input block at kCtrlAddr; offsets are fixed in native_entry.S.
struct Ctrl {
  uint64_t gpr[16];
  uint64_t rflags;
  uint64_t code;
  uint64_t stack_top;
  uint8_t pad[192 - 152];
  alignas(64) uint8_t fx[512];
  uint8_t ymm_hi[16][16];  // loaded with vinsertf128 after FXRSTOR
};
static_assert(offsetof(Ctrl, rflags) == 128 && offsetof(Ctrl, code) == 136 &&
              offsetof(Ctrl, stack_top) == 144 && offsetof(Ctrl, fx) == 192 &&
              offsetof(Ctrl, ymm_hi) == 704);

Ctrl* ctrl() { return reinterpret_cast<Ctrl*>(kCtrlAddr); }

// Child-side globals used by the signal handler.
sigjmp_buf g_env;
CaseResult* g_result;

EndKind kind_of_signal(int sig) {
  switch (sig) {
    case SIGILL: return EndKind::Sigill;
    case SIGFPE: return EndKind::Sigfpe;
    case SIGSEGV: return EndKind::Sigsegv;
    case SIGBUS: return EndKind::Sigbus;
    case SIGTRAP: return EndKind::Sigtrap;
    default: return EndKind::Other;
  }
}

}  // namespace
}  // namespace vireo::difftest

extern "C" void difftest_on_signal(int sig, siginfo_t* si, void* ucv) {
  using namespace vireo::difftest;
  auto* uc = static_cast<ucontext_t*>(ucv);
  const greg_t* g = uc->uc_mcontext.gregs;
  CaseState& s = g_result->state;
  // Signal-frame register order differs from the encoding order.
  static constexpr int kOrder[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                                     REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                                     REG_R12, REG_R13, REG_R14, REG_R15};
  for (int i = 0; i < 16; ++i) s.gpr[i] = uint64_t(g[kOrder[i]]);
  s.rip = uint64_t(g[REG_RIP]);
  s.rflags = uint64_t(g[REG_EFL]);
  from_fxsave(reinterpret_cast<const uint8_t*>(uc->uc_mcontext.fpregs), s);
  {
    // The YMM upper halves: Linux's fpstate is an XSAVE area when the software-reserved bytes
    // carry FP_XSTATE_MAGIC1; the AVX component sits at offset 576 if XSTATE_BV has bit 2,
    // else it is in its initial state (zero).
    const uint8_t* fp = reinterpret_cast<const uint8_t*>(uc->uc_mcontext.fpregs);
    uint32_t magic1;
    uint64_t bv = 0;
    std::memcpy(&magic1, fp + 464, 4);
    if (magic1 == 0x46505853u) std::memcpy(&bv, fp + 512, 8);
    for (int i = 0; i < 16; ++i) {
      if (bv & 4) std::memcpy(&s.ymm_hi[i], fp + 576 + 16 * i, 16);
      else std::memset(&s.ymm_hi[i], 0, 16);
    }
  }
  bool at_end = sig == SIGILL && s.rip >= kCodeAddr && s.rip + 2 <= kCodeAddr + kCodeSize &&
                reinterpret_cast<const uint8_t*>(s.rip)[0] == 0x0F &&
                reinterpret_cast<const uint8_t*>(s.rip)[1] == 0x0B;
  g_result->end = kind_of_signal(sig);
  g_result->detail = sig;
  g_result->fault_addr = uint64_t(si->si_addr);
  g_result->si_code = si->si_code;
  g_result->trapno = uint64_t(g[REG_TRAPNO]);
  g_result->err = uint64_t(g[REG_ERR]);
  // The terminator's #UD is told apart from the tested code's by its address: the caller
  // checks rip == end of code; here we only remember that it was a ud2 at all.
  if (at_end) g_result->detail = -1;
  siglongjmp(g_env, 1);
}

namespace vireo::difftest {
namespace {

void* map_fixed(uint64_t addr, uint64_t len, int prot) {
  void* p = mmap(reinterpret_cast<void*>(addr), len, prot,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p != reinterpret_cast<void*>(addr)) {
    fmt::print(stderr, "vireo-difftest: cannot map 0x{:x} natively: {}\n", addr,
               std::strerror(errno));
    std::exit(2);
  }
  return p;
}

constexpr int kCpuLimitAttempts = 3;
constexpr unsigned kBusLockCpuLimitMs = 2000;

// Whether the instruction at `rip` locks the bus when its operand splits a cache line: a LOCK
// prefix, or `xchg` with a memory operand (locked without one). One such access costs 10-80 ms
// of CPU time at random on one Intel host under a nested hypervisor (~50 us otherwise).
bool bus_locking(uint64_t rip) {
  if (rip < kCodeAddr || rip >= kCodeAddr + kCodeSize - 16) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(rip);
  bool lock = false;
  int i = 0;
  for (; i < 15; ++i) {
    uint8_t b = p[i];
    if (b == 0xF0) lock = true;
    else if (!(b == 0xF2 || b == 0xF3 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x26 ||
               b == 0x64 || b == 0x65 || b == 0x66 || b == 0x67 || (b & 0xF0) == 0x40))
      break;
  }
  if (lock) return true;
  return i < 14 && (p[i] == 0x86 || p[i] == 0x87) && (p[i + 1] >> 6) != 3;
}

// Puts case c's code, scratch memory and register state where native_entry.S loads them from.
void load_case(const Case& c, uint8_t* code, uint8_t* scratch) {
  std::memcpy(code, c.code, kMaxCode);  // (random code may run past its end: all of it)
  std::memset(code + kMaxCode, 0, kCodeSize - kMaxCode);  // as the engine's runner does
  code[c.code_len] = 0x0F;  // ud2
  code[c.code_len + 1] = 0x0B;
  std::memcpy(scratch, c.scratch, kScratchSize);
  Ctrl* k = ctrl();
  std::memcpy(k->gpr, c.in.gpr, sizeof k->gpr);
  // Only the compared flags are loaded; bit 1 reads as one, IF cannot change in user mode.
  k->rflags = (c.in.rflags & kFlagsCompared) | flag::FIXED1 | flag::IF;
  k->code = c.in.rip;
  k->stack_top = kCtrlAddr + kCtrlSize;
  to_fxsave(c.in, k->fx);
  std::memcpy(k->ymm_hi, c.in.ymm_hi, sizeof k->ymm_hi);
}

// Runs the loaded case until its end's signal (the handler siglongjmps back here). Its own
// frame: no loop variable of the caller lives across the sigsetjmp.
[[gnu::noinline]] void run_loaded_case(CaseResult& r, unsigned cpu_limit_ms) {
  g_result = &r;
  std::memset(&r.state, 0, sizeof r.state);
  itimerval t{};
  t.it_value.tv_sec = cpu_limit_ms / 1000;
  t.it_value.tv_usec = (cpu_limit_ms % 1000) * 1000;
  if (cpu_limit_ms) setitimer(ITIMER_VIRTUAL, &t, nullptr);
  if (sigsetjmp(g_env, 1) == 0) difftest_native_enter();
  t.it_value = {};
  if (cpu_limit_ms) setitimer(ITIMER_VIRTUAL, &t, nullptr);
}

bool ended_by_cpu_limit(const CaseResult& r) { return r.end == EndKind::Other && r.detail == SIGVTALRM; }

[[noreturn]] void child_main(const Case* cases, size_t first, size_t n, CaseResult* results,
                             volatile size_t* done, std::pair<void*, size_t> drop, unsigned cpu_limit_ms) {
  if (drop.second) munmap(drop.first, drop.second);
  static uint8_t altstack[1 << 16];
  stack_t ss{};
  ss.ss_sp = altstack;
  ss.ss_size = sizeof altstack;
  sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_sigaction = difftest_on_signal_entry;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGILL, SIGFPE, SIGSEGV, SIGBUS, SIGTRAP, SIGVTALRM}) sigaction(sig, &sa, nullptr);
  alarm(30);  // straight-line code cannot hang; this only guards against harness bugs

  auto* code = reinterpret_cast<uint8_t*>(kCodeAddr);
  auto* scratch = reinterpret_cast<uint8_t*>(kScratchAddr);
  for (size_t i = first; i < n; ++i) {
    const Case& c = cases[i];
    // A CPU-time limit can end a case that does not loop: on a loaded host the user time
    // Linux charges a case is not only its own (seen on an Intel VM host: lock-prefixed forms
    // whose operand crosses a cache line, split locks the host traps and throttles, ended by
    // SIGVTALRM before their one instruction retired). So a case the limit ends runs again;
    // only code over the limit every time counts as looping.
    // One stopped at a bus-locking instruction gets a longer limit.
    unsigned limit = cpu_limit_ms;
    for (int attempt = 0; attempt < kCpuLimitAttempts; ++attempt) {
      load_case(c, code, scratch);
      run_loaded_case(results[i], limit);
      if (!ended_by_cpu_limit(results[i])) break;
      if (bus_locking(results[i].state.rip)) limit = kBusLockCpuLimitMs;
    }
    std::memcpy(results[i].scratch, scratch, kScratchSize);
    *done = i + 1;
  }
  _exit(0);
}

}  // namespace

struct NativeRunner::Shared {
  size_t done;
  Case cases[kMaxBatch];
  CaseResult results[kMaxBatch];
};

NativeRunner::NativeRunner() {
  map_fixed(kCodeAddr, kCodeSize, PROT_READ | PROT_WRITE | PROT_EXEC);
  map_fixed(kScratchAddr, kScratchSize, PROT_READ | PROT_WRITE);
  map_fixed(kCtrlAddr, kCtrlSize, PROT_READ | PROT_WRITE);
  void* p = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                 -1, 0);
  if (p == MAP_FAILED) {
    fmt::print(stderr, "vireo-difftest: cannot map shared results: {}\n", std::strerror(errno));
    std::exit(2);
  }
  shared_ = static_cast<Shared*>(p);
}

NativeRunner::~NativeRunner() { munmap(shared_, sizeof(Shared)); }

void NativeRunner::run(const Case* cases, size_t n, CaseResult* results) {
  std::memcpy(shared_->cases, cases, n * sizeof(Case));
  size_t first = 0;
  while (first < n) {
    shared_->done = first;
    std::fflush(nullptr);  // the child must not flush our buffered output a second time
    pid_t pid = fork();
    if (pid < 0) {
      fmt::print(stderr, "vireo-difftest: fork: {}\n", std::strerror(errno));
      std::exit(2);
    }
    if (pid == 0) child_main(shared_->cases, first, n, shared_->results, &shared_->done, drop_, cpu_limit_ms_);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    size_t done = shared_->done;
    std::memcpy(results + first, shared_->results + first, (done - first) * sizeof(CaseResult));
    if (done >= n) break;
    // The child died on case `done` (a signal the handler could not catch, or the alarm).
    CaseResult& r = results[done];
    std::memset(&r, 0, sizeof r);
    r.end = EndKind::Other;
    r.detail = WIFSIGNALED(status) ? WTERMSIG(status) : 1000 + WEXITSTATUS(status);
    first = done + 1;
  }
}

}  // namespace vireo::difftest
