#include "machine/system_loop.h"

#include <fmt/format.h>

#include "machine/host_timer.h"

namespace vireo::machine {

SystemRunResult run_system(Board& board, Engine& engine, CpuState& cpu, SystemDebugHooks* debug) {
  HostTimer timer(cpu);
  for (;;) {
    if (auto st = board.exit_status()) return {*st, {}};
    if (auto& why = board.console().panic()) return {1, fmt::format("guest kernel panicked: {}", *why)};
    if (board.request() == MachineRequest::PowerOff) return {0, {}};
    if (board.request() == MachineRequest::Reset) return {0, {}, true};
    if (board.request() == MachineRequest::Quit) return {0, "quit from the console (Ctrl-A x)"};
    timer.arm(board.next_deadline_ns());
    if (debug) debug->before_run(cpu);
    StopReason why = engine.run(cpu);
    switch (why) {
      case StopReason::PortIo:
        if (cpu.io.is_in) cpu.io.value = board.port_in(cpu.io.port, cpu.io.size);
        else board.port_out(cpu.io.port, cpu.io.size, cpu.io.value);
        break;
      case StopReason::Hlt:
        if (board.stop_requested()) break;
        if (!(cpu.rflags & flag::IF))
          return {1, fmt::format("guest halted with interrupts disabled at rip={:#x}: nothing can wake it", cpu.rip)};
        if (!board.wait_for_interrupt())
          return {1, fmt::format("guest halted at rip={:#x} with every interrupt source masked or idle: nothing can wake it",
                                 cpu.rip)};
        break;
      case StopReason::ExitRequest:
        cpu.exit_request = 0;
        board.advance();
        board.flush_console();
        break;
      case StopReason::Debug:
        if (debug) debug->debug_stop(cpu);
        break;
      case StopReason::Fault:
        return {1, fmt::format("guest exception {} (error code {:#x}, address {:#x}) at rip={:#x} was not delivered",
                               int(cpu.fault.vector), cpu.fault.error_code, cpu.fault.address, cpu.rip)};
      default:
        return {1, fmt::format("engine {} stopped unexpectedly at rip={:#x}", engine.name(), cpu.rip)};
    }
  }
}

}  // namespace vireo::machine
