#include "linux/process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <string.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "cpu/decoder.h"
#include "interp/interpreter.h"
#include "interp/memory_fault.h"
#include "interp/pool_head.h"
#include "gdb/user_target.h"
#include "linux/initial_stack.h"
#include "linux/maps_registry.h"
#include "linux/safe_syscall.h"
#include "linux/signals.h"
#include "linux/syscalls/syscall_table.h"
#include "linux/threads.h"
#include "support/diag_stream.h"

namespace vireo {

Process::Process(RunOptions opts) : opts_(std::move(opts)) {}

Process::~Process() {
  if (current_thread() && std::any_of(threads_.begin(), threads_.end(),
                                      [](auto& t) { return t.get() == current_thread(); })) {
    set_signal_thread(nullptr);
    set_current_thread(nullptr);
  }
}

GuestThread& Process::thread() { return *current_thread(); }
CpuState& Process::cpu() { return current_thread()->cpu; }
Engine& Process::engine() { return *current_thread()->engine; }

void Process::prepare_guest_write(uint64_t addr, uint64_t len) {
  GuestThread* t = current_thread();
  if (t && t->engine) t->engine->prepare_guest_write(addr, len);
}

void Process::prepare_guest_read(uint64_t addr, uint64_t len) {
  GuestThread* t = current_thread();
  if (t && t->engine) t->engine->prepare_guest_read(addr, len);
}

GuestThread& Process::start_main_thread() {
  auto t = std::make_unique<GuestThread>();
  t->tid = pid_t(::gettid());
  t->is_main = true;
  t->altstack.flags = opts_.altstack_flags;
  GuestThread& main = *t;
  {
    std::lock_guard g(threads_mu_);
    threads_.clear();
    threads_.push_back(std::move(t));
    threads_started_ = 1;
  }
  main.signals.cpu = &main.cpu;
  set_current_thread(&main);
  set_signal_thread(&main.signals);
  return main;
}

void Process::load() {
  GuestThread& t = start_main_thread();
  // Dispositions are inherited across execve: a signal the parent ignored starts ignored.
  for (int sig = 1; sig < 65; ++sig) {
    struct sigaction old {};
    if (sig != SIGKILL && sig != SIGSTOP && ::sigaction(sig, nullptr, &old) == 0 &&
        old.sa_handler == SIG_IGN)
      sigactions[sig].handler = uint64_t(SIG_IGN);
  }
  init_guest_signals(*this);
  load_image(t, opts_.execfn.empty() ? opts_.program : opts_.execfn);
}

void Process::load_image(GuestThread& t, const std::string& execfn, int program_fd) {
  as_ = std::make_shared<AddressSpace>();
  LoadedElf elf = load_elf(opts_.program, *as_, program_fd);
  as_->set_brk_start(elf.brk);
  reset_user_state(t.cpu);
  exe_path = elf.real_path;
  t.cpu.gpr[RSP] = build_initial_stack(*as_, elf, opts_.argv, opts_.env, execfn);
  t.cpu.rip = elf.entry;
  // A dynamic program's loader decodes past a prefaulted pool head: huge pages from its start.
  set_decode_pool_head(elf.interp_base ? 0 : Interpreter::kPoolHead);
  t.engine = opts_.make_engine(as_->memory());
}

void Process::load_empty() {
  as_ = std::make_shared<AddressSpace>();
  GuestThread& t = start_main_thread();
  reset_user_state(t.cpu);
  exe_path = opts_.program;
  t.engine = opts_.make_engine(as_->memory());
  init_guest_signals(*this);
}

int Process::run() {
  start_ = std::chrono::steady_clock::now();
  GuestThread& main = *threads_.front();
  run_thread(main);
  if (exited_) {
    unpublish_guest_maps();
    if (debugger) debugger->process_exit(false, exit_status_);
    if (opts_.stats) print_stats();
    return exit_status_;
  }
  // The main thread called exit(2) while others go on. Like Linux's zombie thread-group
  // leader it takes no more signals, and the process ends with its last thread
  // (finish_thread); this host thread must not return (that would end them all).
  for (;;) ::pause();
}

namespace {
// How far a MAP_GROWSDOWN mapping may grow: RLIMIT_STACK, as for any stack VMA.
uint64_t stack_rlimit() {
  struct rlimit rl;
  if (getrlimit(RLIMIT_STACK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return ~uint64_t(0);
  return rl.rlim_cur;
}
}  // namespace

// One guest thread's loop: run the engine, serve what it stops for.
void Process::run_thread(GuestThread& t) {
  set_current_thread(&t);
  t.signals.cpu = &t.cpu;
  set_signal_thread(&t.signals);
  if (debugger) debugger->thread_start(t);
  for (;;) {
    if (debugger) debugger->checkpoint(t);
    StopReason r = t.engine->run(t.cpu);
    if (r == StopReason::Syscall) {
      if (debugger) debugger->enter_kernel(t);
      handle_syscall(t);
      if (debugger && !exited_ && !t.exiting) debugger->leave_kernel(t);
      if (exited_ || t.exiting) break;
      deliver_pending(*this);
      if (t.mask_saved) {  // a sigsuspend whose signal was not delivered after all
        t.mask_saved = false;
        set_guest_mask(*this, t.saved_mask);
      }
      continue;
    }
    if (r == StopReason::Fault) {
      // A not-present fault just below a MAP_GROWSDOWN mapping grows it, and the access runs
      // again (arch/x86/mm/fault.c: expand_stack before any signal).
      if (t.cpu.fault.vector == VEC_PF && !(t.cpu.fault.error_code & pf::P) &&
          as_->grow_down(t.cpu.fault.address, stack_rlimit()))
        continue;
      GuestSiginfo info = fault_siginfo(*this);
      int sig = debugger ? debugger->signal(t, info.signo, info) : info.signo;
      if (sig) deliver_fault(*this, sig, info);  // returns only into a guest handler
      continue;
    }
    if (r == StopReason::Debug) {
      if (debugger) debugger->debug_stop(t);
      continue;
    }
    if (r == StopReason::ExitRequest) {
      // Cleared before looking at the pending set, so a signal arriving meanwhile stops the
      // engine again instead of being missed.
      t.cpu.exit_request = 0;
      deliver_pending(*this);
      continue;
    }
    diag_print(stderr, "vireo: engine stopped unexpectedly at pc={:#x}\n", t.cpu.rip);
    exit_group(1);
    if (exited_) break;
  }
  if (t.exiting) finish_thread(t);
}

void Process::handle_syscall(GuestThread& t) {
  CpuState& cpu = t.cpu;
  uint64_t nr = cpu.gpr[RAX];
  t.signals.woken.store(false, std::memory_order_relaxed);  // (about this call's interruption only)
  // A signal that arrived before the syscall is delivered before it, as natively; the syscall
  // instruction runs again after the handler returns. (rt_sigreturn first restores the mask.)
  if (nr != SYS_rt_sigreturn && (pending_signals() & ~t.sigmask)) {
    cpu.rip -= 2;
    return;
  }
  SyscallArgs a{{cpu.gpr[RDI], cpu.gpr[RSI], cpu.gpr[RDX], cpu.gpr[R10], cpu.gpr[R8], cpu.gpr[R9]}};
  publish_guest_maps(*this, nr);  // for other Vireo processes' /proc/PID/maps
  ++t.syscall_counts[nr];
  const SyscallDef* d = nr < kMaxSyscall ? &syscall_table()[nr] : nullptr;
  int64_t result;
  if (d && d->fn) {
    result = d->fn(*this, a);
  } else if (!d || !d->name) {
    // A number Linux never assigned (or one newer than the kernel Vireo models): the kernel
    // answers -ENOSYS and says nothing, and programs probe such numbers on purpose (a new
    // call tried before its fallback), so a message here would be output the native run
    // lacks. --strace still shows the call.
    result = -ENOSYS;
  } else {
    // A kernel call the table names but has no handler for (the policy test keeps this
    // empty): -ENOSYS, with one warning per syscall number, since it is Vireo's gap.
    static ForkSafeMutex mu;  // (every Vireo lock is free in a fork child)
    static std::vector<uint64_t> warned;
    std::lock_guard g(mu);
    if (std::find(warned.begin(), warned.end(), nr) == warned.end()) {
      warned.push_back(nr);
      diag_print(stderr, "vireo: unimplemented syscall {} ({}), returning -ENOSYS\n", d->name, nr);
    }
    result = -ENOSYS;
  }
  // (like strace -f: each line names the thread; an execve that replaced the image in place
  // traced itself while its arguments were still there)
  if (std::exchange(image_replaced_, false)) return;
  if (result == kRestartSys) {
    // A blocking host call that never started: a signal came just before it (safe_syscall.h).
    // As if the signal had come before the syscall instruction: the run loop delivers it, and
    // the instruction runs again after the handler (SA_RESTART has no say: nothing was
    // interrupted). Neither traced nor counted: natively the call happens once, afterwards.
    --t.syscall_counts[nr];
    cpu.rip -= 2;
    cpu.gpr[RAX] = nr;
    return;
  }
  if (opts_.strace) diag_print(diag_stream(), "{} {}\n", t.tid, format_syscall(*this, nr, a, result));
  if (result == -EINTR && nr != SYS_rt_sigreturn && restart_after_signal(t, nr)) return;
  cpu.gpr[RAX] = uint64_t(result);
}

// A host call interrupted by a signal for a guest handler: with SA_RESTART (and a call Linux
// restarts) the handler's frame resumes at the syscall instruction again, rax = the number.
// A call that only Vireo's wake-up interrupted (signals.h, wake_thread) for a signal this
// thread does not take after all runs again, as Linux restarts a call no handler interrupted.
bool Process::restart_after_signal(GuestThread& t, uint64_t nr) {
  const bool woken = take_woken();
  uint64_t ready = pending_signals() & ~t.sigmask;
  if (!ready && woken) {
    t.cpu.rip -= 2;
    t.cpu.gpr[RAX] = nr;
    return true;
  }
  if (!ready || !restartable_syscall(nr)) return false;
  const SigAction& sa = sigactions[next_signal(ready)];
  if (sa.handler == uint64_t(SIG_DFL) || sa.handler == uint64_t(SIG_IGN) || !(sa.flags & SA_RESTART))
    return false;
  t.cpu.rip -= 2;
  t.cpu.gpr[RAX] = nr;
  return true;
}

void Process::print_stats_once() {
  if (opts_.stats) print_stats();
  opts_.stats = false;
}

void Process::print_stats(const char* ending) {
  // The statistics go where --strace goes: the stderr Vireo was started with, held above the
  // guest's fd numbers (support/diag_stream.h), so a guest that closes or redirects its own fd 2
  // (coreutils close it at exit) does not take them; a failed write is ignored and the guest's
  // exit status stays its own.
  std::FILE* out = diag_stream();
  try {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    // Finished threads were added up as they ended; the live ones are added here (their
    // counters may still move while we read them).
    std::lock_guard g(threads_mu_);
    uint64_t insns = retired_insns_;
    std::map<uint64_t, uint64_t> syscalls = retired_syscalls_;
    // The engine counters are added into one engine's (this is printed once, at the end).
    Engine* total = retired_engine_stats_.get();
    for (auto& t : threads_) {
      insns += t->cpu.insn_count;
      for (auto& [nr, n] : t->syscall_counts) syscalls[nr] += n;
      if (!t->engine) continue;
      if (!total) total = t->engine.get();
      else total->merge_stats(*t->engine);
    }
    for (auto& e : idle_engines_) {
      if (!total) total = e.get();
      else total->merge_stats(*e);
    }
    if (!total) return;
    diag_print(out, "vireo --stats (engine {}):\n", total->name());
    if (ending) diag_print(out, "  image ended by:       {}\n", ending);
    diag_print(out, "  guest instructions:   {}\n", insns);
    diag_print(out, "  wall time:            {:.3f} s\n", secs);
    diag_print(out, "  MIPS:                 {:.1f}\n", secs > 0 ? double(insns) / secs / 1e6 : 0.0);
    diag_print(out, "  guest threads:        {}\n", threads_started_);
    total->print_stats(out, secs);  // (fmt::print: a failed write throws, caught below)
    uint64_t sum = 0;
    for (auto& [nr, n] : syscalls) sum += n;
    diag_print(out, "  syscalls:             {}\n", sum);
    std::vector<std::pair<uint64_t, uint64_t>> by_count(syscalls.begin(), syscalls.end());
    std::sort(by_count.begin(), by_count.end(), [](auto& a, auto& b) { return a.second > b.second; });
    for (auto& [nr, n] : by_count) {
      const char* name = syscall_name(nr);
      diag_print(out, "    {:<20} {}\n", name ? name : fmt::format("#{}", nr), n);
    }
  } catch (const std::exception&) {
  }
}

}  // namespace vireo
