// clone(CLONE_VM|CLONE_VFORK): the child shares the parent's memory until it calls execve or
// exits, and the parent waits. posix_spawn depends on the sharing: its child writes the errno
// of a failed execve into the parent's memory before exiting, which is how the parent learns
// of ENOENT. A host fork would lose that write; so the child is a host clone with
// CLONE_VM|CLONE_VFORK too, running the guest on a host stack of its own, with a Process of
// its own (the same AddressSpace; copies of the dispositions, so that the child resetting
// them does not touch the parent's) and an engine of its own. The parent owns those objects
// and frees them when it resumes: the child has exec'd or exited by then. The child's execve is
// a host one (vireo re-executes itself): only that gives it a host memory of its own and
// releases the parent (exec_in_place.cpp, Process::exec_in_place_blocker).
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "linux/process.h"
#include "linux/signals.h"
#include "linux/threads.h"
#include "mem/host_fault.h"

namespace vireo {

Process::Process(VforkTag, Process& parent, const GuestThread& from, uint64_t stack)
    : opts_(parent.opts_), as_(parent.as_) {
  std::copy(std::begin(parent.sigactions), std::end(parent.sigactions), std::begin(sigactions));
  exe_path = parent.exe_path;
  vfork_child_ = true;
  auto t = std::make_unique<GuestThread>();
  t->is_main = true;
  t->cpu = from.cpu;
  t->cpu.exit_request = 0;
  t->cpu.insn_count = 0;
  t->cpu.gpr[RAX] = 0;
  if (stack) t->cpu.gpr[RSP] = stack;
  t->sigmask = from.sigmask;
  t->altstack = from.altstack;  // (copy_process resets it only for CLONE_VM without CLONE_VFORK)
  t->engine = opts_.make_engine(as_->memory());
  threads_.push_back(std::move(t));
  threads_started_ = 1;
}

int64_t Process::clone_vfork(const CloneRequest& req, int exit_signal) {
  auto child = std::unique_ptr<Process>(new Process(VforkTag{}, *this, thread(), req.stack));
  constexpr size_t kHostStack = 1 << 20;
  std::unique_ptr<char[]> host_stack(new char[kHostStack]);
  // The child runs on this host thread's TLS (no CLONE_SETTLS): what it sets there is put
  // back when the parent resumes.
  GuestThread* const my_thread = current_thread();
  GuestFaultScope* const my_scope = current_fault_scope();
  ThreadSignals* const my_signals = &my_thread->signals;
  struct Start {
    Process* child;
    pid_t tid;
  } start{child.get(), 0};
  int pid = ::clone(
      [](void* arg) -> int {
        auto* s = static_cast<Start*>(arg);
        Process& c = *s->child;
        GuestThread& t = *c.threads_.front();
        t.tid = pid_t(::gettid());
        set_current_thread(&t);
        t.signals.cpu = &t.cpu;
        set_signal_thread(&t.signals);
        c.start_ = std::chrono::steady_clock::now();
        c.run_thread(t);  // returns only when the guest exits (execve does not return)
        if (c.opts_.stats) c.print_stats();
        std::fflush(nullptr);
        ::_exit(c.exit_status_);
      },
      host_stack.get() + kHostStack, CLONE_VM | CLONE_VFORK | (exit_signal & CSIGNAL), &start);
  int err = errno;
  set_current_thread(my_thread);
  set_signal_thread(my_signals);
  current_fault_scope() = my_scope;
  if (pid < 0) return -err;
  return pid;
}

}  // namespace vireo
