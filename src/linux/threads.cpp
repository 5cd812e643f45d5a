// Guest threads: clone(CLONE_THREAD) starts a host thread running the new guest thread's loop;
// exit, exit_group and the robust-futex and clear-child-tid duties of a dying thread; the
// thread list (design.md, "Threads").
#include "linux/threads.h"

#include <linux/futex.h>
#include <linux/sched.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>

#include "gdb/user_target.h"
#include "linux/guest_access.h"
#include "linux/maps_registry.h"
#include "linux/process.h"

namespace vireo {

namespace {

thread_local GuestThread* t_current = nullptr;

// Blocks every host signal on the calling thread (returns the previous mask).
uint64_t block_all_host_signals() {
  uint64_t all = ~uint64_t(0), old = 0;
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, 8L);
  return old;
}

struct ThreadStart {
  Process* process;
  GuestThread* thread;
  CloneRequest req;
  sem_t ready;
  pid_t tid;  // (the thread may be gone by the time the parent reads it: its tid is kept here)
};

}  // namespace

GuestThread* current_thread() { return t_current; }
void set_current_thread(GuestThread* t) { t_current = t; }

int64_t Process::clone_thread(const CloneRequest& req) {
  GuestThread& parent = thread();
  auto nt = std::make_unique<GuestThread>();
  // The parent's registers as they are at its syscall (the engine left them exact), with
  // rax = 0 in the child; the engine-side fields start afresh.
  nt->cpu = parent.cpu;
  nt->cpu.exit_request = 0;
  nt->cpu.insn_count = 0;
  nt->cpu.gpr[RAX] = 0;
  if (req.stack) nt->cpu.gpr[RSP] = req.stack;
  if (req.flags & CLONE_SETTLS) fs_base(nt->cpu) = req.tls;
  // Linux (copy_process): the mask is inherited; a CLONE_VM child gets no alternate stack.
  nt->sigmask = parent.sigmask;
  nt->altstack.reset();
  if (req.flags & CLONE_CHILD_CLEARTID) nt->clear_child_tid = req.child_tid;
  nt->engine = engine_for_new_thread();
  GuestThread* raw = nt.get();
  {
    std::lock_guard g(threads_mu_);
    threads_.push_back(std::move(nt));
    ++threads_started_;
  }
  ThreadStart start{this, raw, req, {}, 0};
  sem_init(&start.ready, 0, 0);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  // The host thread starts with every signal blocked; it takes its guest mask once its
  // pending set is in place.
  uint64_t old = block_all_host_signals();
  // A process's first pthread_create makes host glibc install its own SIGSETXID (33) handler
  // (late_init in nptl/pthread_create.c), over whatever the guest's disposition had put there:
  // a guest that signals 33 (Go's AllThreadsSyscall does) would then run glibc's setxid
  // handler inside Vireo. The guest's disposition is set again after that creation.
  bool first_host_thread = __libc_single_threaded;
  pthread_t host;
  int err = pthread_create(
      &host, &attr,
      [](void* arg) -> void* {
        auto* s = static_cast<ThreadStart*>(arg);
        Process& p = *s->process;
        GuestThread& t = *s->thread;
        t.tid = pid_t(::gettid());
        set_current_thread(&t);
        t.signals.cpu = &t.cpu;
        set_signal_thread(&t.signals);
        // Both ids are written before clone returns on either side, as Linux does.
        int32_t tid = t.tid;
        if (s->req.flags & CLONE_PARENT_SETTID) write_guest(p, s->req.parent_tid, tid);
        if (s->req.flags & CLONE_CHILD_SETTID) write_guest(p, s->req.child_tid, tid);
        s->tid = tid;
        sem_post(&s->ready);  // (s is the parent's, gone after this)
        uint64_t mask = host_mask_for(t.sigmask);
        ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask, nullptr, 8L);
        p.run_thread(t);
        return nullptr;
      },
      &start);
  if (first_host_thread) remirror_disposition(*this, 33);
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr, 8L);
  pthread_attr_destroy(&attr);
  if (err) {
    std::lock_guard g(threads_mu_);
    std::erase_if(threads_, [&](auto& t) { return t.get() == raw; });
    --threads_started_;
    return -EAGAIN;
  }
  while (sem_wait(&start.ready) != 0) {
  }
  sem_destroy(&start.ready);
  return start.tid;
}

// An ended thread's engine if one is idle (Engine::park): a new thread under the jit cost
// ~0.4 ms of CPU to build its engine (its decode pool's 2 MiB huge page cleared, the index
// and memo populated, the trampolines generated, all unmapped again at its end) and to
// translate the thread start-up code again.
std::unique_ptr<Engine> Process::engine_for_new_thread() {
  {
    std::lock_guard g(threads_mu_);
    if (!idle_engines_.empty()) {
      std::unique_ptr<Engine> e = std::move(idle_engines_.back());
      idle_engines_.pop_back();
      return e;
    }
  }
  return opts_.make_engine(as_->memory());
}

void Process::exit_thread(int code) {
  GuestThread& t = thread();
  t.exiting = true;
  t.exit_code = code;
}

void Process::exit_group(int status) {
  GuestThread& t = thread();
  bool alone;
  {
    std::lock_guard g(threads_mu_);
    alone = threads_.size() == 1;
  }
  if (alone && t.is_main) {  // the main loop returns and Vireo exits the usual way
    exited_ = true;
    exit_status_ = status;
    return;
  }
  end_process(status);
}

// A thread's end (Linux do_exit -> exit_mm -> mm_release): robust futexes, then
// clear-child-tid with a wake (what pthread_join waits for); the process ends with its last
// thread, with that thread's exit code.
void Process::finish_thread(GuestThread& t) {
  release_robust_futexes(*this, t);
  if (t.clear_child_tid) {
    int32_t zero = 0;
    if (write_guest(*this, t.clear_child_tid, zero) && as_->contains(t.clear_child_tid, 4))
      ::syscall(SYS_futex, as_->host(t.clear_child_tid), FUTEX_WAKE, 1, nullptr, nullptr, 0);
  }
  if (debugger) debugger->thread_end(t);
  // From here no signal may reach this thread's pending set: it is about to go.
  block_all_host_signals();
  set_signal_thread(nullptr);
  set_current_thread(nullptr);
  bool last;
  std::unique_ptr<GuestThread> mine;
  {
    std::lock_guard g(threads_mu_);
    auto it = std::find_if(threads_.begin(), threads_.end(), [&](auto& p) { return p.get() == &t; });
    mine = std::move(*it);
    threads_.erase(it);
    last = threads_.empty();
    retire_stats(*mine);
  }
  if (last) end_process(mine->exit_code);
}

void Process::retire_stats(GuestThread& t) {
  retired_insns_ += t.cpu.insn_count;
  for (auto& [nr, n] : t.syscall_counts) retired_syscalls_[nr] += n;
  if (!t.engine) return;
  // Kept for the next new thread, counters and all (print_stats adds the idle engines' too).
  if (!threads_.empty() && !debugger && idle_engines_.size() < kMaxIdleEngines && t.engine->park()) {
    idle_engines_.push_back(std::move(t.engine));
    return;
  }
  if (!opts_.stats) {
    // Nothing will print the engine's counters: the first thread to end built an engine to
    // hold them (a JitEngine: decode pool, code cache, trampolines, ~6 mmap calls), and a last
    // thread ending by exit(2) freed its own just before the process exits (issue 22). The
    // last thread's engine is left as it is: end_process exits at once.
    if (threads_.empty()) (void)t.engine.release();
    else t.engine.reset();
    return;
  }
  // An engine that never runs holds the counters (a finished thread's engine must go: other
  // threads' engines may still address it, e.g. to queue invalidations).
  if (!retired_engine_stats_) retired_engine_stats_ = opts_.make_engine(as_->memory());
  retired_engine_stats_->merge_stats(*t.engine);
  t.engine.reset();
}

// The process ends while other threads may still run: robust futexes of every thread (each
// would release its own in Linux's exit path), --stats, the files flushed, then the host
// exit_group takes all host threads down at once.
void Process::end_process(int status) {
  unpublish_guest_maps();
  if (debugger) debugger->process_exit(false, status);
  {
    std::lock_guard g(threads_mu_);
    for (auto& t : threads_) release_robust_futexes(*this, *t);
  }
  if (opts_.stats) print_stats();
  std::fflush(nullptr);
  ::_exit(status);
}

void Process::for_each_thread(const std::function<void(GuestThread&)>& f) {
  std::lock_guard g(threads_mu_);
  for (auto& t : threads_) f(*t);
}

bool Process::with_thread(pid_t tid, const std::function<void(GuestThread&)>& f) {
  std::lock_guard g(threads_mu_);
  for (auto& t : threads_)
    if (t->tid == tid) {
      f(*t);
      return true;
    }
  return false;
}

void Process::wake_threads_for(int sig) {
  bool woken = false;
  for_each_thread([&](GuestThread& t) {
    if (t.sigmask & sigbit(sig)) return;
    t.cpu.exit_request = 1;
    // One of them is also woken from a blocking host call, as Linux wakes the one it picks.
    if (!woken) woken = wake_thread(t);
  });
}

void Process::before_fork() {
  if (!__libc_single_threaded) settle_registry_before_fork();  // (before the locks: it may wait)
  lock_all_for_fork();
}

void Process::after_fork(bool child) {
  if (child) {
    // Only the forking thread goes on in the child (Linux: fork copies just the caller).
    GuestThread* me = current_thread();
    std::vector<std::unique_ptr<GuestThread>> others;
    for (auto& t : threads_)
      if (t.get() != me) others.push_back(std::move(t));
    std::erase_if(threads_, [](auto& t) { return !t; });
    me->tid = pid_t(::gettid());
    // The debugger stays with the parent (its stub thread is not in the child). (Its controls
    // go after the locks are free again: the jit lifts its watchpoints' page protection.)
    const bool debugged = debugger != nullptr;
    debugger = nullptr;
    unlock_all_after_fork(true);
    if (me->engine) me->engine->forked();
    if (debugged && me->engine) me->engine->set_debug(nullptr);
    // Their engines go with them (their host threads do not exist here).
    others.clear();
    // So do the idle engines. (Not left unfreed: each holds the process's SharedCode, and the
    // engine factory makes a new one for an in-place execve's image only when no engine holds
    // the old one; a child of node that exec'd then protected pages through the old image's
    // freed address space.)
    idle_engines_.clear();
    return;
  }
  unlock_all_after_fork(false);
}

// Linux kernel/futex/core.c, exit_robust_list and handle_futex_death. The list holds guest
// pointers, so Vireo walks it; the host kernel only sees Vireo's own (empty) list.
void release_robust_futexes(Process& p, const GuestThread& t) {
  if (!t.robust_list) return;
  struct Head {
    uint64_t next;
    int64_t futex_offset;
    uint64_t pending;
  } head;
  if (!read_guest(p, t.robust_list, head)) return;
  auto death = [&](uint64_t entry, bool pi) {
    uint64_t uaddr = entry + uint64_t(head.futex_offset);
    if ((uaddr & 3) || !p.as().contains(uaddr, 4)) return;
    auto* word = reinterpret_cast<uint32_t*>(p.as().host(uaddr));
    for (;;) {
      uint32_t v;
      if (!read_guest(p, uaddr, v) || (v & FUTEX_TID_MASK) != uint32_t(t.tid)) return;
      uint32_t nv = (v & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
      if (__atomic_compare_exchange_n(word, &v, nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        // A PI futex's waiters are the host kernel's business (its pi_state goes with the
        // host thread); a plain one wakes one waiter to find the owner dead.
        if (!pi && (v & FUTEX_WAITERS)) ::syscall(SYS_futex, word, FUTEX_WAKE, 1, nullptr, nullptr, 0);
        return;
      }
    }
  };
  // Entries (and the pending one) carry the PI flag in bit 0 (fetch_robust_entry).
  const uint64_t pending = head.pending & ~uint64_t(1);
  uint64_t entry = head.next;
  // ROBUST_LIST_LIMIT: a cyclic or corrupt list cannot hold the exit up for ever.
  for (int n = 0; n < 2048; ++n) {
    const uint64_t e = entry & ~uint64_t(1);
    if (e == t.robust_list) break;
    uint64_t next;
    if (!read_guest(p, e, next)) return;
    if (e != pending) death(e, entry & 1);
    entry = next;
  }
  if (pending) death(pending, head.pending & 1);
}

}  // namespace vireo
