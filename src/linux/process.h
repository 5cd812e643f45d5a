// Process: one user-mode guest program — its address space, CPU, engine and kernel-side
// state — and the loop that runs the engine and serves what it stops for.
#pragma once

#include <signal.h>

#include <chrono>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cpu/cpu_state.h"
#include "cpu/engine.h"
#include "linux/elf_loader.h"
#include "mem/address_space.h"
#include "support/fork_safe_mutex.h"

namespace vireo {

namespace gdb {
class UserDebugger;
}

struct RunOptions {
  std::string engine = "interp";
  bool stats = false;
  bool strace = false;
  std::string program;               // path of the ELF to run
  std::vector<std::string> argv;     // guest argv (argv[0] included)
  std::vector<std::string> env;      // guest environment
  std::string execfn;                // AT_EXECFN (empty: `program`), the name execve was given
  int32_t altstack_flags = 0;        // the sigaltstack flags an execve keeps (across a re-exec)
  std::string vireo_path;            // host path of the vireo binary (for execve; empty: /proc/self/exe's)
  // Further `vireo run` options to repeat when execve re-executes vireo (engine tuning, ...).
  std::vector<std::string> reexec_options;
  // execve replaces the image inside this host process (exec_in_place.cpp) where it can;
  // false (`--exec=reexec`): every execve re-executes vireo, as before issue 22.
  bool exec_in_place = true;
  // Creates the execution engine for a guest memory (chosen by the CLI from `engine`).
  std::function<std::unique_ptr<Engine>(const GuestMemory&)> make_engine;
};

struct GuestThread;

// What clone/clone3 ask for a new thread (threads.cpp).
struct CloneRequest {
  uint64_t flags = 0;
  uint64_t stack = 0;       // the new thread's rsp (0: the parent's)
  uint64_t parent_tid = 0;  // CLONE_PARENT_SETTID
  uint64_t child_tid = 0;   // CLONE_CHILD_SETTID / CLONE_CHILD_CLEARTID
  uint64_t tls = 0;         // CLONE_SETTLS: the new fs base
};

class Process {
 public:
  explicit Process(RunOptions opts);
  ~Process();

  // Loads the program; throws ElfError (or std::runtime_error) with a one-line message.
  void load();
  // An empty address space and a main thread with an engine, no program: for driving syscall
  // handlers directly (unit tests).
  void load_empty();
  // Runs the main thread. Returns the exit status Vireo should exit with when the process ends
  // through it; when another thread ends the process, Vireo exits from that thread.
  int run();

  // The calling thread (each guest thread runs on its own host thread).
  GuestThread& thread();
  CpuState& cpu();
  Engine& engine();
  AddressSpace& as() { return *as_; }
  // The kernel side is about to write guest memory: lets the engine drop write protection it
  // put on pages holding translated code (before an engine exists, nothing is protected).
  void prepare_guest_write(uint64_t addr, uint64_t len);
  // ... or to read it: lets the engine lift the protection of pages gdb watches.
  void prepare_guest_read(uint64_t addr, uint64_t len);
  const RunOptions& options() const { return opts_; }

  // ---- kernel-side state shared by the threads (CLONE_SIGHAND) ----
  struct SigAction {
    uint64_t handler = 0, flags = 0, restorer = 0, mask = 0;
  };
  SigAction sigactions[65];
  // Held while a disposition is changed (rt_sigaction, SA_RESETHAND) or read for a delivery, as
  // Linux holds sighand->siglock: a thread delivering a signal while another switches its
  // handler to SIG_IGN must see one whole disposition, not jump to address 1.
  ForkSafeMutex sigactions_mu;

  // gdb (`vireo run -g`), or null: sees each stop, signal and exit (gdb/user_target.h).
  gdb::UserDebugger* debugger = nullptr;

  // The guest created a POSIX timer (timer_create): an in-place execve must delete the host's.
  bool posix_timers_created = false;

  // Guest-visible path of the running program (for /proc/self/exe and execve of it):
  // absolute, as the kernel's /proc/self/exe link is.
  std::string exe_path;

  // ---- threads (threads.cpp) ----
  // Starts a guest thread (clone with CLONE_THREAD) and returns its TID, or -errno.
  int64_t clone_thread(const CloneRequest& req);
  // clone(CLONE_VM|CLONE_VFORK), as posix_spawn does: a child process that shares this one's
  // memory until it execs or exits, the parent waiting meanwhile (vfork.cpp). Returns its pid.
  int64_t clone_vfork(const CloneRequest& req, int exit_signal);
  // exit(2): the calling thread ends after this system call; the process ends with the last.
  void exit_thread(int code);
  // exit_group(2): the whole process ends with `status`.
  void exit_group(int status);
  // Calls f(GuestThread&) for each live thread, with the thread list locked.
  void for_each_thread(const std::function<void(GuestThread&)>& f);
  // The live thread with host TID `tid`, with the thread list locked while f runs; false if none.
  bool with_thread(pid_t tid, const std::function<void(GuestThread&)>& f);
  // Raises the exit request of every thread that does not block `sig`, so that one of them
  // takes a process-directed signal Vireo holds, and wakes the first from a blocking host call.
  void wake_threads_for(int sig);
  // Around a host fork: Vireo's locks; in the child, only the calling thread is left.
  void before_fork();
  void after_fork(bool child);

  // ---- execve (exec_in_place.cpp) ----
  // Why this process cannot replace its image in place (the host kernel must do the exec:
  // see exec_in_place.cpp), or nullptr if it can.
  const char* exec_in_place_blocker();
  // execve after its point of no return: the guest's image is replaced by `program` (a host
  // path already checked by execve; `program_fd` it opened for the checks, taken over, or -1),
  // with `argv`, `env`, and AT_EXECFN `execfn`. A failure from here kills the process with
  // SIGSEGV, as Linux's bprm_execve does.
  void exec_in_place(const std::string& program, int program_fd, std::vector<std::string> argv,
                     std::vector<std::string> env, const std::string& execfn);

  // --stats output, if asked for and not printed yet (a guest dying by a signal prints it
  // before Vireo raises the signal on itself).
  void print_stats_once();

 private:
  struct VforkTag {};
  // The Process of a CLONE_VM|CLONE_VFORK child: `parent`'s memory, copies of the rest, and
  // one thread that starts as `from` returning 0 from clone on `stack`.
  Process(VforkTag, Process& parent, const GuestThread& from, uint64_t stack);
  void run_thread(GuestThread& t);
  void finish_thread(GuestThread& t);
  [[noreturn]] void end_process(int status);
  void handle_syscall(GuestThread& t);
  bool restart_after_signal(GuestThread& t, uint64_t nr);
  // (`ending`: printed after the header when an image ends other than by exit, e.g. "execve")
  void print_stats(const char* ending = nullptr);
  void reset_stats(GuestThread& t);  // a new image counts from zero (exec_in_place.cpp)
  void retire_stats(GuestThread& t);  // (threads_mu_ held)
  GuestThread& start_main_thread();
  // The program opts_ names, with its argv and env, into a new address space, `t` at its entry
  // with a fresh engine (at start-up and by an in-place execve). AT_EXECFN is `execfn`;
  // `program_fd`: the program opened already (taken over), or -1.
  void load_image(GuestThread& t, const std::string& execfn, int program_fd = -1);

  RunOptions opts_;
  std::shared_ptr<AddressSpace> as_;  // (shared with a CLONE_VM|CLONE_VFORK child's Process)
  std::chrono::steady_clock::time_point start_;

  // The live threads; guarded by threads_mu_ (a ForkSafeMutex, support/fork_safe_mutex.h).
  ForkSafeMutex threads_mu_;
  std::vector<std::unique_ptr<GuestThread>> threads_;
  // --stats: threads started in all, and what finished threads counted.
  uint64_t threads_started_ = 0;
  uint64_t retired_insns_ = 0;
  std::map<uint64_t, uint64_t> retired_syscalls_;
  std::unique_ptr<Engine> retired_engine_stats_;
  // Engines of ended threads, for the next new threads to take (Engine::park; threads.cpp).
  std::vector<std::unique_ptr<Engine>> idle_engines_;
  static constexpr size_t kMaxIdleEngines = 8;
  std::unique_ptr<Engine> engine_for_new_thread();
  // Set when the main thread, alone, ends the process (the run loop returns the status).
  bool exited_ = false;
  int exit_status_ = 0;
  // This Process is a CLONE_VM|CLONE_VFORK child (vfork.cpp): its execve must be a host one.
  bool vfork_child_ = false;
  // Set by exec_in_place: the syscall that replaced the image was traced already (its
  // arguments lived in the old image), so the run loop does not trace it again.
  bool image_replaced_ = false;
};

}  // namespace vireo
