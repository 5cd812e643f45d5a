#include "linux/process.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "cpu/decoder.h"
#include "linux/initial_stack.h"
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
  cpu_.gpr[RSP] = build_initial_stack(*as_, elf, opts_.argv, opts_.env, opts_.program);
  cpu_.rip = elf.entry;
  engine_ = opts_.make_engine(as_->memory());
}

void Process::load_empty() {
  as_ = std::make_unique<AddressSpace>();
  reset_user_state(cpu_);
  exe_path = opts_.program;
  engine_ = opts_.make_engine(as_->memory());
}

int Process::run() {
  start_ = std::chrono::steady_clock::now();
  int status = 0;
  for (;;) {
    StopReason r = engine_->run(cpu_);
    if (r == StopReason::Syscall) {
      handle_syscall();
      if (exited) {
        status = exit_status;
        break;
      }
      continue;
    }
    if (r == StopReason::Fault) {
      status = terminate_by_fault();
      break;
    }
    if (r == StopReason::ExitRequest) {
      cpu_.exit_request = 0;
      continue;
    }
    fmt::print(stderr, "vireo: engine stopped unexpectedly at pc={:#x}\n", cpu_.rip);
    status = 1;
    break;
  }
  if (opts_.stats) print_stats();
  return status;
}

void Process::handle_syscall() {
  uint64_t nr = cpu_.gpr[RAX];
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
  cpu_.gpr[RAX] = uint64_t(result);
}

int Process::terminate_by_signal(int signo, uint64_t address) {
  fmt::print(stderr, "vireo: guest terminated by {} at pc={:#x} address {:#x}\n",
             sigabbrev_np(signo) ? fmt::format("SIG{}", sigabbrev_np(signo)) : "signal",
             cpu_.rip, address);
  if (opts_.stats) print_stats();
  opts_.stats = false;
  return 128 + signo;
}

void Process::terminate_with_signal(int signo) {
  exit_status = terminate_by_signal(signo, 0);
  exited = true;
}

int Process::terminate_by_fault() {
  const FaultInfo& f = cpu_.fault;
  switch (f.vector) {
    case VEC_UD: {
      // Show what the guest tried to execute.
      uint8_t bytes[15] = {};
      size_t n = 0;
      while (n < 15 && as_->is_mapped(cpu_.rip + n, 1)) {
        bytes[n] = *as_->host(cpu_.rip + n);
        ++n;
      }
      fmt::print(stderr, "vireo: guest terminated by SIGILL at pc={:#x}: illegal instruction {} ({})\n",
                 cpu_.rip, hex_bytes(bytes, std::min<size_t>(n, 8)),
                 disassemble(bytes, n, cpu_.rip));
      if (opts_.stats) print_stats();
      opts_.stats = false;
      return 128 + SIGILL;
    }
    case VEC_DE:
    case VEC_MF:
    case VEC_XM: return terminate_by_signal(SIGFPE, cpu_.rip);
    case VEC_BP: return terminate_by_signal(SIGTRAP, 0);
    case VEC_AC: return terminate_by_signal(SIGBUS, f.address);
    default: return terminate_by_signal(SIGSEGV, f.address);
  }
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
