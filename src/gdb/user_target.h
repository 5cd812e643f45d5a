// gdb in user mode (`vireo run -g PORT|PATH`): the DebugTarget of a Linux process, and the
// calls its run loops make (linux/process.cpp, threads.cpp, signal delivery). The guest waits
// for gdb before its first instruction, as under qemu-x86_64 -g.
#pragma once

#include <memory>
#include <mutex>
#include <map>
#include <string>

#include "gdb/debug_target.h"
#include "gdb/stop_gate.h"
#include "gdb/stub.h"
#include "linux/signals.h"

namespace vireo {
class Process;
struct GuestThread;
}  // namespace vireo

namespace vireo::gdb {

class UserTarget final : public DebugTarget {
 public:
  explicit UserTarget(Process& p, StopGate& gate) : p_(p), gate_(gate) {}
  bool system_mode() const override { return false; }
  size_t read_memory(int64_t thread, uint64_t addr, uint8_t* out, size_t len) override;
  size_t write_memory(int64_t thread, uint64_t addr, const uint8_t* in, size_t len) override;
  std::string auxv() override;
  std::string exec_file() override;
  std::string siginfo(int64_t thread) override;
  int64_t write_siginfo(int64_t thread, uint64_t offset, const std::string& data) override;
  std::string thread_name(int64_t thread) override;
  [[noreturn]] void kill() override;
  void record_siginfo(int64_t thread, const GuestSiginfo& info);
  GuestSiginfo recorded_siginfo(int64_t thread);  // (as gdb may have rewritten it)

 private:
  Process& p_;
  StopGate& gate_;
  std::mutex mu_;
  std::map<int64_t, GuestSiginfo> siginfo_;
};

class UserDebugger {
 public:
  // Listens on `opts.endpoint` (throws with a one-line reason) and serves gdb from now on;
  // the first guest thread stops before its first instruction.
  UserDebugger(Process& p, StubOptions opts);

  // ---- calls from the guest's threads (each about itself) ----
  void thread_start(GuestThread& t);
  void thread_end(GuestThread& t);
  void checkpoint(GuestThread& t);
  void debug_stop(GuestThread& t);  // the engine returned StopReason::Debug
  void enter_kernel(GuestThread& t);
  void leave_kernel(GuestThread& t);  // (and a single-step over the system call ends)
  // A signal about to be delivered (a fault, or a pending one): gdb sees it first. Returns the
  // signal to deliver (0: gdb suppressed it); `info` is rewritten if gdb changed the signal.
  int signal(GuestThread& t, int sig, GuestSiginfo& info);
  // The process ends (exit status, or the signal that kills it).
  void process_exit(bool signaled, int code);

 private:
  StopGate gate_;
  UserTarget target_;
  GdbStub stub_;
};

}  // namespace vireo::gdb
