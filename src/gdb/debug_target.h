// What the gdb stub asks of a platform (user mode: gdb/user_target.*, system mode:
// gdb/system_target.*): its threads, their registers, its memory, its signals. The stub parses
// packets; the platform never does. Run control (stop everything, resume, single-step) is the
// StopGate's (gdb/stop_gate.h), shared by both platforms; breakpoints and watchpoints reach
// the engines through cpu/debug_target.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cpu/cpu_state.h"
#include "cpu/debug_target.h"

namespace vireo::gdb {

// Why the guest stopped, as a stop reply says it.
struct StopEvent {
  enum class Kind : uint8_t { Signal, Exited, Terminated } kind = Kind::Signal;
  int64_t thread = 0;
  int signal = 0;       // Linux signal number (Signal, Terminated)
  int exit_status = 0;  // Exited
  DebugControls::Event debug = DebugControls::Event::None;
  Watchpoint watch{};      // debug == Watch
  bool hw_break = false;   // a Z1 breakpoint (else Z0)
};

class DebugTarget {
 public:
  virtual ~DebugTarget() = default;
  virtual bool system_mode() const = 0;
  // Reads/writes guest virtual memory as thread `thread` sees it; returns the bytes done
  // (fewer at the first unmapped byte).
  virtual size_t read_memory(int64_t thread, uint64_t addr, uint8_t* out, size_t len) = 0;
  virtual size_t write_memory(int64_t thread, uint64_t addr, const uint8_t* in, size_t len) = 0;
  // User mode: the auxiliary vector, the program's path, the siginfo of the signal `thread`
  // stopped with (qXfer:auxv/exec-file/siginfo); empty when there is none.
  virtual std::string auxv() { return {}; }
  virtual std::string exec_file() { return {}; }
  virtual std::string siginfo(int64_t thread) { return {}; }
  // qXfer:siginfo:write: gdb rewrites (part of) that siginfo, which the guest then gets when
  // the signal is delivered (as PTRACE_SETSIGINFO). Returns the bytes written, -1 if none.
  virtual int64_t write_siginfo(int64_t thread, uint64_t offset, const std::string& data) { return -1; }
  // User mode: the thread's name as the kernel keeps it (prctl(PR_SET_NAME), comm), for
  // qXfer:threads:read; empty when there is none.
  virtual std::string thread_name(int64_t thread) { return {}; }
  // Ends the guest (k, or a disconnect under --gdb-disconnect kill).
  [[noreturn]] virtual void kill() = 0;
};

}  // namespace vireo::gdb
