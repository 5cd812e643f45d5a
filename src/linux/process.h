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

namespace vireo {

struct RunOptions {
  std::string engine = "interp";
  bool stats = false;
  bool strace = false;
  std::string program;               // path of the ELF to run
  std::vector<std::string> argv;     // guest argv (argv[0] included)
  std::vector<std::string> env;      // guest environment
  std::string vireo_path;            // host path of the vireo binary (for execve)
  // Further `vireo run` options to repeat when execve re-executes vireo (engine tuning, ...).
  std::vector<std::string> reexec_options;
  // Creates the execution engine for a guest memory (chosen by the CLI from `engine`).
  std::function<std::unique_ptr<Engine>(const GuestMemory&)> make_engine;
};

class Process {
 public:
  explicit Process(RunOptions opts);
  ~Process();

  // Loads the program; throws ElfError (or std::runtime_error) with a one-line message.
  void load();
  // An empty address space and an engine, no program: for driving syscall handlers directly
  // (unit tests).
  void load_empty();
  // Runs to completion and returns the exit status Vireo should exit with.
  int run();

  CpuState& cpu() { return cpu_; }
  AddressSpace& as() { return *as_; }
  Engine& engine() { return *engine_; }
  // The kernel side is about to write guest memory: lets the engine drop write protection it
  // put on pages holding translated code (before an engine exists, nothing is protected).
  void prepare_guest_write(uint64_t addr, uint64_t len) {
    if (engine_) engine_->prepare_guest_write(addr, len);
  }
  const RunOptions& options() const { return opts_; }

  // ---- kernel-side state used by the syscall handlers ----
  struct SigAction {
    uint64_t handler = 0, flags = 0, restorer = 0, mask = 0;
  };
  SigAction sigactions[65];
  uint64_t sigmask = 0;
  // rt_sigsuspend/pause run with a temporary mask; the one to restore (and to save in the frame
  // of the handler that ends the wait) is kept here while mask_saved.
  uint64_t saved_mask = 0;
  bool mask_saved = false;
  uint64_t altstack_sp = 0, altstack_size = 0;
  int altstack_flags = SS_DISABLE;
  uint64_t clear_child_tid = 0;
  bool exited = false;
  int exit_status = 0;

  // Syscall counts by number, for --stats.
  std::map<uint64_t, uint64_t> syscall_counts;

  // Guest-visible path of the running program (for /proc/self/exe and execve of it):
  // absolute, as the kernel's /proc/self/exe link is.
  std::string exe_path;

  // --stats output, if asked for and not printed yet (a guest dying by a signal prints it
  // before Vireo raises the signal on itself).
  void print_stats_once();

 private:
  void handle_syscall();
  bool restart_after_signal(uint64_t nr);
  void print_stats();

  RunOptions opts_;
  std::unique_ptr<AddressSpace> as_;
  std::unique_ptr<Engine> engine_;
  CpuState cpu_{};
  std::chrono::steady_clock::time_point start_;
};

}  // namespace vireo
