// EngineRunner: executes cases on an engine under test (--engine), from the same state and at
// the same guest addresses as the native child.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "cpu/engine.h"
#include "mem/address_space.h"
#include "state.h"

namespace vireo::difftest {

class EngineRunner {
 public:
  // Engines difftest knows how to build; adding one is a line in make_engine().
  static bool known(const std::string& name);
  explicit EngineRunner(const std::string& engine);
  ~EngineRunner();

  void run(const Case& c, CaseResult& r);
  const Engine& engine() const { return *engine_; }
  // The host range the engine's guest window reserves, guards included.
  std::pair<void*, size_t> window() const;
  // Random code (random_code.cpp): may loop, so runs under a watchdog.
  void set_random_code(bool on) { random_code_ = on; }

 private:
  void start_watchdog(CpuState& cpu);
  void stop_watchdog();
  void linux_signal_details(const CpuState& cpu, CaseResult& r);

  AddressSpace as_;
  std::unique_ptr<Engine> engine_;
  bool random_code_ = false;
};

}  // namespace vireo::difftest
