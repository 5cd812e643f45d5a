// gdb in system mode (`vireo boot -s`, `-S`, `-g PORT|PATH`): the DebugTarget of the one CPU
// of the PC board, and the hooks the system loop calls (machine/system_loop.h). Memory is the
// guest's virtual memory, translated through its own page tables as the CPU would see it
// (without setting accessed or dirty bits); guest-physical RAM only, never device memory.
#pragma once

#include "gdb/debug_target.h"
#include "gdb/stop_gate.h"
#include "gdb/stub.h"
#include "machine/system_loop.h"

namespace vireo::gdb {

class SystemTarget final : public DebugTarget {
 public:
  explicit SystemTarget(StopGate& gate) : gate_(gate) {}
  // The RAM of the current power cycle (before its CPU joins the gate).
  void set_ram(uint8_t* ram, uint64_t ram_size) {
    ram_ = ram;
    ram_size_ = ram_size;
  }
  bool system_mode() const override { return true; }
  size_t read_memory(int64_t thread, uint64_t addr, uint8_t* out, size_t len) override;
  size_t write_memory(int64_t thread, uint64_t addr, const uint8_t* in, size_t len) override;
  [[noreturn]] void kill() override;
  // The guest-physical address of virtual `va` under `cpu`'s paging, or nullopt.
  static std::optional<uint64_t> translate(const CpuState& cpu, const uint8_t* ram, uint64_t ram_size, uint64_t va);

 private:
  size_t transfer(uint64_t addr, uint8_t* buf, size_t len, bool write);
  StopGate& gate_;
  uint8_t* ram_ = nullptr;
  uint64_t ram_size_ = 0;
};

class SystemDebugger final : public machine::SystemDebugHooks {
 public:
  // Listens (throws with a one-line reason); `stop_at_start` (-S): the CPU waits for gdb
  // before its first instruction; otherwise it runs and stops when gdb connects.
  // One debugger serves every power cycle of the machine: a guest reset keeps the gdb
  // session, its breakpoints and watchpoints, as QEMU's gdbstub does (gdb is not told: the
  // CPU goes on from the reset state, and stops where gdb's breakpoints say).
  SystemDebugger(StubOptions opts, bool stop_at_start);
  // A power cycle starts (its board, CPU and engine) and ends (a reset, or the end).
  void power_on(Engine& engine, CpuState& cpu, uint8_t* ram, uint64_t ram_size);
  void power_off();
  void before_run(CpuState& cpu) override;
  void debug_stop(CpuState& cpu) override;
  // The machine stops for good (its debug-exit status, or 1 when it cannot go on).
  void machine_exit(int status);

 private:
  StopGate gate_;
  SystemTarget target_;
  GdbStub stub_;
};

}  // namespace vireo::gdb
