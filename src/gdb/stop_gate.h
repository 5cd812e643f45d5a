// StopGate: gdb's all-stop model over the guest's CPUs (user-mode threads, or the one CPU of
// system mode), shared by both platforms.
//
// Each guest CPU runs on its own host thread and calls in at three places: checkpoint()
// before each engine run (one relaxed atomic load unless a debugger wants something), report()
// when it has a stop event (the engine's StopReason::Debug, a signal about to be delivered),
// and around system calls that may block (a thread in the kernel counts as stopped, as under
// ptrace, so that one blocked thread cannot keep gdb waiting). The first event of a stop is
// the one gdb sees; every other CPU is asked to stop (its exit request) and parks at its next
// checkpoint. The stub, on its own thread, waits on ready_fd() for "all stopped", reads and
// writes the parked CPUs' state, and resumes them with per-thread actions.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "cpu/engine.h"
#include "gdb/debug_target.h"

namespace vireo::gdb {

struct ResumeAction {
  bool step = false;
  int signal = 0;  // a signal to deliver on resume (Linux number), 0: none
};

class StopGate {
 public:
  StopGate();
  ~StopGate();

  // ---- guest side ----
  // A CPU joins (its host thread, before its first run) and leaves (its thread ends).
  void join(int64_t tid, CpuState* cpu, Engine* engine);
  // `rejoin`: the CPU comes back (a guest reset: a new CpuState and engine under the same id)
  // and keeps its resume action (a single-step in progress stops after the first instruction
  // of the new power cycle, as under QEMU).
  void leave(int64_t tid, bool rejoin = false);
  void checkpoint(int64_t tid) {
    if (attention_.load(std::memory_order_relaxed)) slow_checkpoint(tid);
  }
  // Reports `ev` for thread `tid` and parks it until resumed; returns its action. `reported`
  // is false when another CPU's event was reported instead (the caller tries again later).
  ResumeAction report(int64_t tid, const StopEvent& ev, bool* reported = nullptr);
  // The engine stopped with StopReason::Debug: reports what its controls say fired.
  void report_debug(int64_t tid);
  // After a system call: a single-step that ran one finishes here.
  void after_syscall(int64_t tid);
  void enter_kernel(int64_t tid);
  void leave_kernel(int64_t tid);
  // The guest ends: the stub sends W/X before the process goes (bounded wait).
  void process_exit(const StopEvent& ev);
  // Start stopped: the first CPU to join stops with SIGTRAP before its first instruction.
  void start_stopped();
  bool attached() const { return attached_.load(); }

  // ---- stub side ----
  int ready_fd() const { return ready_fd_; }
  // Asks every CPU to stop (gdb's Ctrl-C, or its connection); the event is SIGINT unless
  // another comes first.
  void request_stop(int signal);
  // The event, once every CPU is stopped (or the exit event); nullopt while running.
  std::optional<StopEvent> stopped_event();
  std::vector<int64_t> threads();
  CpuState* cpu(int64_t tid);  // a stopped CPU, or null
  // Breakpoints and watchpoints for every CPU, applied when each resumes.
  void set_breakpoints(std::vector<uint64_t> pcs);
  void set_watchpoints(std::vector<Watchpoint> w);
  void set_memory_reader(std::function<bool(uint64_t, void*, uint64_t)> read);
  // Resumes the CPUs named in `actions` (others: `others`, or left stopped if null).
  void resume(const std::map<int64_t, ResumeAction>& actions, const ResumeAction* others);
  // Memory gdb wrote: the engines drop what they translated or decoded from it.
  void invalidate_code(uint64_t addr, uint64_t len);
  // Lets everything run with no debugger (D, or a disconnect).
  void detach();
  // Marks the exit event as sent (process_exit may go on).
  void exit_reported();
  void set_attached();

 private:
  struct Member {
    int64_t tid;
    CpuState* cpu;
    Engine* engine;
    DebugControls controls;
    bool hold = false, parked = false, in_kernel = false, dirty = true;
    ResumeAction action;
  };
  void slow_checkpoint(int64_t tid);
  void park(std::unique_lock<std::mutex>& lk, Member& m);
  void apply(Member& m);  // (lock held; on m's own thread)
  void stop_all_locked();
  void update_attention();
  void notify_if_stopped();
  bool all_stopped() const;

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int64_t, Member> members_;
  std::map<int64_t, ResumeAction> rejoining_;  // leave(tid, true): the action join restores
  std::atomic<bool> attention_{false};
  std::atomic<bool> attached_{false};
  bool stopping_ = false;  // a stop is in effect: CPUs park at their checkpoints
  bool start_stopped_ = false;
  std::optional<StopEvent> event_;
  bool exit_pending_ = false, exit_sent_ = false;
  std::vector<uint64_t> breakpoints_;
  std::vector<Watchpoint> watchpoints_;
  std::function<bool(uint64_t, void*, uint64_t)> read_memory_;
  int ready_fd_ = -1;
};

}  // namespace vireo::gdb
