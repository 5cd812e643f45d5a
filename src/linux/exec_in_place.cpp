// execve inside the same host process (issue 22). Re-executing vireo for every guest execve
// paid a host exec, ld.so of vireo's libraries and vireo's own start-up each time; here the
// image is replaced as Linux's begin_new_exec + load_elf_binary replace it (fs/exec.c,
// fs/binfmt_elf.c), once execve's checks have passed (syscalls/exec.cpp):
//  - other threads are gone (de_thread): in-place exec is only taken by a process that is one
//    thread, that thread being the thread-group leader (see exec_in_place_blocker);
//  - close-on-exec descriptors are closed (do_close_on_exec); the rest of the fd table stays.
//    A vfork(2) parent is released here: Vireo's vfork is a host fork whose parent waits for
//    the close-on-exec pipe end the child holds to go away (syscalls/process.cpp, fork_guest);
//  - caught signals go back to SIG_DFL, ignored ones stay ignored, flags and masks of the
//    dispositions are cleared (flush_signal_handlers); the blocked mask and pending signals
//    stay; the alternate signal stack is forgotten, its flags kept (begin_new_exec);
//  - POSIX timers are deleted (exit_itimers); interval timers, alarm and rlimits stay;
//  - robust futexes still held are released (exec_mm_release -> futex_exec_release runs
//    exit_robust_list), then the robust list and clear_child_tid are dropped (the old mm goes
//    without a clear_child_tid write: mm_release does that only for a shared mm);
//  - the address space (with the vDSO), the CPU state (FS/GS bases included), the engine and
//    every translation are new; the program, its interpreter, stack and auxv are loaded as at
//    start-up, with AT_EXECFN the name execve was given.
// --stats prints the ending image's counters (marked "image ended by: execve") and the new
// image counts from zero, so that each block describes one program.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <utility>

#include "linux/process.h"
#include "linux/signals.h"
#include "linux/threads.h"
#include "support/diag_stream.h"

namespace vireo {

namespace {

// do_close_on_exec: every FD_CLOEXEC descriptor goes. Vireo keeps no close-on-exec descriptor
// of its own open across a guest system call (the -D log, the perf map and the --strace
// stream are not close-on-exec: support/diag_stream.h; a debugged process re-executes
// instead), so all of them are the guest's, but for `keep`: the new program, which execve's
// checks opened (Linux's bprm holds its file the same way).
void close_on_exec_fds(int keep) {
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return;
  const int own = ::dirfd(d);
  std::vector<int> doomed;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    int fd = std::atoi(e->d_name);
    if (fd == own || fd == keep) continue;
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC)) doomed.push_back(fd);
  }
  ::closedir(d);
  for (int fd : doomed) ::close(fd);
}

// exit_itimers: the POSIX timers of the process are deleted. The guest's timers are the host
// process's (timer_create passes through); /proc/self/timers names them.
void delete_posix_timers() {
  int fd = ::open("/proc/self/timers", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, size_t(n));
  ::close(fd);
  for (size_t at = 0; (at = text.find("ID: ", at)) != std::string::npos; at += 4)
    ::syscall(SYS_timer_delete, std::atol(text.c_str() + at + 4));
}

}  // namespace

const char* Process::exec_in_place_blocker() {
  if (!opts_.exec_in_place) return "--exec=reexec";
  // A CLONE_VM|CLONE_VFORK child shares its parent's host memory, and the parent sleeps in the
  // host's clone until the child's mm is released: only a host execve gives the child a memory
  // of its own and wakes the parent (kernel/fork.c, mm_release -> complete_vfork_done).
  if (vfork_child_) return "a vfork child";
  // gdb's connection and its view of the process belong to this vireo; a debugged guest's
  // execve starts a new, undebugged vireo as before.
  if (debugger) return "a debugged process";
  // de_thread: the host kernel kills the other threads and gives the exec-ing thread the
  // leader's pid; Vireo's threads are host threads, so the host exec does both exactly.
  std::lock_guard g(threads_mu_);
  if (threads_.size() != 1 || threads_.front().get() != current_thread()) return "a multi-threaded process";
  if (current_thread()->tid != ::getpid()) return "a thread that is not the group leader";
  return nullptr;
}

void Process::reset_stats(GuestThread& t) {
  std::lock_guard g(threads_mu_);
  retired_insns_ = 0;
  retired_syscalls_.clear();
  retired_engine_stats_.reset();
  idle_engines_.clear();  // (the old image's, before its address space goes)
  threads_started_ = 1;
  t.syscall_counts.clear();
  start_ = std::chrono::steady_clock::now();
}

void Process::exec_in_place(const std::string& program, int program_fd,
                            std::vector<std::string> argv, std::vector<std::string> env, const std::string& execfn) {
  GuestThread& t = thread();
  if (opts_.stats) print_stats("execve");
  image_replaced_ = true;

  close_on_exec_fds(program_fd);
  if (std::exchange(posix_timers_created, false)) delete_posix_timers();
  // flush_signal_handlers(current, 0)
  for (int sig = 1; sig < 65; ++sig) {
    SigAction& sa = sigactions[sig];
    const bool caught = sa.handler != uint64_t(SIG_DFL) && sa.handler != uint64_t(SIG_IGN);
    sa = {sa.handler == uint64_t(SIG_IGN) ? uint64_t(SIG_IGN) : uint64_t(SIG_DFL), 0, 0, 0};
    if (caught && mirrored_on_host(sig)) {
      // Raw: glibc refuses 32 and 33; SIG_DFL needs no restorer.
      struct { uint64_t handler, flags, restorer, mask; } dfl{uint64_t(SIG_DFL), 0, 0, 0};
      ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, 8L);
    }
  }
  t.altstack.forget_for_exec();
  t.mask_saved = false;
  release_robust_futexes(*this, t);
  t.robust_list = 0;
  t.clear_child_tid = 0;

  // The old image goes: its translations and decode caches first (the jit lifts its write
  // protection in the old window), the engines' shared code with them, then the window. The
  // decode cache is kept for the new image's engine, which keeps what is executable in it
  // (interp/kept_decodes.cpp).
  std::shared_ptr<KeptDecodes> kept = t.engine->keep_decodes();
  t.engine.reset();
  reset_stats(t);
  as_.reset();

  opts_.program = program;
  opts_.argv = std::move(argv);
  opts_.env = std::move(env);
  offer_kept_decodes(std::move(kept));
  try {
    load_image(t, execfn, program_fd);
  } catch (const std::exception& e) {
    offer_kept_decodes(nullptr);
    // Past the point of no return: Linux kills the new process with SIGSEGV (bprm_execve).
    diag_print(stderr, "vireo: execve of {}: {}\n", program, e.what());
    die_by_signal(*this, SIGSEGV, 0, false);
  }
  offer_kept_decodes(nullptr);  // (taken by the new engine, or not of its kind)
}

}  // namespace vireo
