// Interpreter: the reference engine. Decode (cached), execute, exact flags, exact exceptions.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cpu/decoder.h"
#include "cpu/engine.h"
#include "interp/exec.h"
#include "mem/guest_memory.h"

namespace vireo::machine {
class SystemBus;
}

namespace vireo {

struct SystemMode;

class Interpreter final : public Engine {
 public:
  // User mode: the guest window of a Linux process.
  explicit Interpreter(const GuestMemory& mem);
  // System mode (interp/system/): guest-physical RAM and the machine's bus; `int_log` gets one
  // line per interrupt or exception (-d int), or is null.
  Interpreter(machine::SystemBus& bus, uint8_t* ram, uint64_t ram_size, std::FILE* int_log);
  ~Interpreter() override;

  StopReason run(CpuState& cpu) override;
  const char* name() const override { return "interp"; }
  void print_stats(std::FILE* out, double seconds) const override;
  void invalidate(uint64_t addr, uint64_t len) override;
  void merge_stats(const Engine& other) override;
  bool set_debug(DebugControls* d, std::string* why = nullptr) override;  // (debug_checks.cpp)

  // Stop after this many more instructions (difftest, tests); 0 = no limit.
  void set_instruction_limit(uint64_t n) { limit_ = n; }

  // Called by the #UD path for a mnemonic without a handler: reported once per mnemonic.
  void report_unimplemented(const Insn& in);

  // Executes exactly one already-decoded instruction (used by the JIT as its fallback).
  StopReason step_one(CpuState& cpu, const Insn& in);

  uint64_t decode_misses() const { return decode_misses_; }

 private:
  struct CacheEntry {
    uint64_t rip;         // ~0 = empty
    uint64_t code[2];     // the instruction's bytes, zero-padded to 16
    uint64_t mask[2];     // which bytes of code[] belong to the instruction
    Insn insn;
  };
  static constexpr size_t kCacheSize = 1 << 14;

  const Insn* fetch(CpuState& cpu);  // inline fast path in run()
  const Insn* fetch_slow(CpuState& cpu, CacheEntry& e);
  bool executable(uint64_t addr) const;
  StopReason fault_stop(CpuState& cpu, int how);
  StopReason run_system(CpuState& cpu);  // interp/system/run_loop.cpp
  void print_system_stats(std::FILE* out, double seconds) const;

  Decoder decoder_;
  Exec x_;
  GuestFaultScope scope_;
  // The decode cache is mapped zero-filled and touched only where entries land, so that a
  // thread's engine costs memory in proportion to the code it runs (guest threads each have
  // one). A zero slot is empty: 0 never hashes to a slot but slot 0, whose empty tag is 1.
  struct CacheUnmap {
    void operator()(CacheEntry* p) const;
  };
  std::unique_ptr<CacheEntry[], CacheUnmap> cache_;
  static size_t slot_of(uint64_t rip) { return (rip ^ (rip >> 14)) & (kCacheSize - 1); }
  static uint64_t empty_tag(size_t slot) { return slot == 0; }
  uint64_t limit_ = 0;
  // A debugger's controls (debug_checks.cpp), null when none: one test per instruction.
  DebugControls* debug_ = nullptr;
  bool debug_breakpoint(CpuState& cpu);
  void debug_before(const Insn& in);
  bool debug_after();
  std::vector<std::pair<uint64_t, uint64_t>> watch_touched_;  // this instruction's memory operands
  std::vector<std::vector<uint8_t>> watch_old_;              // each watched range before it
  uint64_t decode_misses_ = 0;
  std::map<uint16_t, uint64_t> unimplemented_;  // mnemonic -> times hit
  std::unique_ptr<SystemMode> sys_;
};

}  // namespace vireo
