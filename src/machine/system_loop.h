// The system-mode platform loop: runs an engine on a board until the guest asks to stop.
//
// Engine-agnostic: it serves what any engine hands back (PortIo, Hlt, ExitRequest, Fault),
// sleeps a halted CPU until the board raises an interrupt, and keeps a host timer armed for
// the board's next deadline so that a guest spinning without exits still sees its timer ticks.
#pragma once

#include <optional>
#include <string>

#include "cpu/cpu_state.h"
#include "cpu/engine.h"
#include "machine/board.h"

namespace vireo::machine {

struct SystemRunResult {
  int exit_status = 0;
  std::string message;  // why the machine stopped, when it was not the guest's own exit
  bool reset = false;   // the guest reset the machine (the caller boots again or stops)
};

// A debugger watching the CPU (gdb/system_target.h): called before each engine run (where it
// may hold the CPU while gdb has it stopped) and when the engine stops for a breakpoint,
// watchpoint or single-step.
struct SystemDebugHooks {
  virtual ~SystemDebugHooks() = default;
  virtual void before_run(CpuState& cpu) = 0;
  virtual void debug_stop(CpuState& cpu) = 0;
};

SystemRunResult run_system(Board& board, Engine& engine, CpuState& cpu, SystemDebugHooks* debug = nullptr);

}  // namespace vireo::machine
