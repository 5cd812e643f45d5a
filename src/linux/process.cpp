#include "linux/process.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <string.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "cpu/decoder.h"
#include "linux/initial_stack.h"
#include "linux/signals.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

Process::Process(RunOptions opts) : opts_(std::move(opts)) {}
Process::~Process() = default;

void Process::load() {
  as_ = std::make_unique<AddressSpace>();
  LoadedElf elf = load_elf(opts_.program, *as_);
  as_->set_brk_start(elf.brk);
  reset_user_state(cpu_);
  char* abs = ::realpath(opts_.program.c_str(), nullptr);
  exe_path = abs ? abs : opts_.program;
  std::free(abs);
  // Dispositions are inherited across execve: a signal the parent ignored starts ignored.
  for (int sig = 1; sig < 65; ++sig) {
    struct sigaction old {};
    if (sig != SIGKILL && sig != SIGSTOP && ::sigaction(sig, nullptr, &old) == 0 &&
        old.sa_handler == SIG_IGN)
      sigactions[sig].handler = uint64_t(SIG_IGN);
  }
  init_guest_signals(*this);
  cpu_.gpr[RSP] = build_initial_stack(*as_, elf, opts_.argv, opts_.env, opts_.program);
  cpu_.rip = elf.entry;
  engine_ = opts_.make_engine(as_->memory());
}

void Process::load_empty() {
  as_ = std::make_unique<AddressSpace>();
  reset_user_state(cpu_);
  exe_path = opts_.program;
  engine_ = opts_.make_engine(as_->memory());
  init_guest_signals(*this);
}

int Process::run() {
  start_ = std::chrono::steady_clock::now();
  set_signal_cpu(&cpu_);
  int status = 0;
  for (;;) {
    StopReason r = engine_->run(cpu_);
    if (r == StopReason::Syscall) {
      handle_syscall();
      if (exited) {
        status = exit_status;
        break;
      }
      deliver_pending(*this);
      if (mask_saved) {  // a sigsuspend whose signal was not delivered after all
        mask_saved = false;
        set_guest_mask(*this, saved_mask);
      }
      continue;
    }
    if (r == StopReason::Fault) {
      GuestSiginfo info = fault_siginfo(*this);
      deliver_fault(*this, info.signo, info);  // returns only into a guest handler
      continue;
    }
    if (r == StopReason::ExitRequest) {
      // Cleared before looking at the pending set, so a signal arriving meanwhile stops the
      // engine again instead of being missed.
      cpu_.exit_request = 0;
      deliver_pending(*this);
      continue;
    }
    fmt::print(stderr, "vireo: engine stopped unexpectedly at pc={:#x}\n", cpu_.rip);
    status = 1;
    break;
  }
  set_signal_cpu(nullptr);
  if (opts_.stats) print_stats();
  return status;
}

void Process::handle_syscall() {
  uint64_t nr = cpu_.gpr[RAX];
  // A signal that arrived before the syscall is delivered before it, as natively; the syscall
  // instruction runs again after the handler returns. (rt_sigreturn first restores the mask.)
  if (nr != SYS_rt_sigreturn && (pending_signals() & ~sigmask)) {
    cpu_.rip -= 2;
    return;
  }
  SyscallArgs a{{cpu_.gpr[RDI], cpu_.gpr[RSI], cpu_.gpr[RDX], cpu_.gpr[R10], cpu_.gpr[R8],
                 cpu_.gpr[R9]}};
  ++syscall_counts[nr];
  const SyscallDef* d = nr < kMaxSyscall ? &syscall_table()[nr] : nullptr;
  int64_t result;
  if (d && d->fn) {
    result = d->fn(*this, a);
  } else {
    // Unknown or unimplemented: -ENOSYS, with one warning per syscall number.
    static std::vector<uint64_t> warned;
    if (std::find(warned.begin(), warned.end(), nr) == warned.end()) {
      warned.push_back(nr);
      fmt::print(stderr, "vireo: unimplemented syscall {} ({}), returning -ENOSYS\n",
                 d && d->name ? d->name : "unknown", nr);
    }
    result = -ENOSYS;
  }
  if (opts_.strace)
    fmt::print(stderr, "{} {}\n", ::getpid(), format_syscall(*this, nr, a, result));
  if (result == -EINTR && nr != SYS_rt_sigreturn && restart_after_signal(nr)) return;
  cpu_.gpr[RAX] = uint64_t(result);
}

// A host call interrupted by a signal for a guest handler: with SA_RESTART (and a call Linux
// restarts) the handler's frame resumes at the syscall instruction again, rax = the number.
bool Process::restart_after_signal(uint64_t nr) {
  uint64_t ready = pending_signals() & ~sigmask;
  if (!ready || !restartable_syscall(nr)) return false;
  const SigAction& sa = sigactions[next_signal(ready)];
  if (sa.handler == uint64_t(SIG_DFL) || sa.handler == uint64_t(SIG_IGN) || !(sa.flags & SA_RESTART))
    return false;
  cpu_.rip -= 2;
  cpu_.gpr[RAX] = nr;
  return true;
}

void Process::print_stats_once() {
  if (opts_.stats) print_stats();
  opts_.stats = false;
}

void Process::print_stats() {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  fmt::print(stderr, "vireo --stats (engine {}):\n", engine_->name());
  fmt::print(stderr, "  guest instructions:   {}\n", cpu_.insn_count);
  fmt::print(stderr, "  wall time:            {:.3f} s\n", secs);
  fmt::print(stderr, "  MIPS:                 {:.1f}\n", secs > 0 ? double(cpu_.insn_count) / secs / 1e6 : 0.0);
  engine_->print_stats(stderr, secs);
  uint64_t total = 0;
  for (auto& [nr, n] : syscall_counts) total += n;
  fmt::print(stderr, "  syscalls:             {}\n", total);
  std::vector<std::pair<uint64_t, uint64_t>> by_count(syscall_counts.begin(), syscall_counts.end());
  std::sort(by_count.begin(), by_count.end(), [](auto& a, auto& b) { return a.second > b.second; });
  for (auto& [nr, n] : by_count) {
    const char* name = syscall_name(nr);
    fmt::print(stderr, "    {:<20} {}\n", name ? name : fmt::format("#{}", nr), n);
  }
}

}  // namespace vireo
