// Interpreter: the reference engine. Decode (cached), execute, exact flags, exact exceptions.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
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
  // With a decode cache of `cache_entries` (a power of two) mapped populated: the jit's
  // interpreter tier runs only cold code, and a small table costs one mapping instead of a
  // read fault and a write fault on each of its pages (issue 22, start-up). The table grows
  // (populated, 8 times larger, up to the interp engine's size) once it has missed
  // kGrowAfterMisses times: a short process (hello world, an exec'd `true`) keeps 2,048
  // entries (288 KB), a large program's cold code (python's start-up) gets 16,384.
  Interpreter(const GuestMemory& mem, size_t cache_entries);
  size_t decode_cache_entries() const { return cache_mask_ + 1; }
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
  // Also stop (InstructionLimit) after an instruction that does not fall through to the next:
  // a taken branch, a call, a return (the jit's interpreter tier runs a block at a time).
  void set_stop_at_branch(bool on) { stop_at_branch_ = on; }

  // Called by the #UD path for a mnemonic without a handler: reported once per mnemonic.
  void report_unimplemented(const Insn& in);

  // Executes exactly one already-decoded instruction (used by the JIT as its fallback).
  StopReason step_one(CpuState& cpu, const Insn& in);

  uint64_t decode_misses() const { return decode_misses_; }

  // The decode cache's instruction at `rip` if it was decoded from these bytes (at least its
  // length of them), else null: the jit's translator reuses what its interpreter tier decoded.
  const Insn* cached_decode(uint64_t rip, const uint8_t* bytes, size_t avail) const {
    const CacheEntry& e = cache_[slot_of(rip)];
    if (e.rip != rip || e.insn.len == 0 || e.insn.len > avail || std::memcmp(e.insn.bytes, bytes, e.insn.len) != 0)
      return nullptr;
    return &e.insn;
  }

  // System mode, for the JIT (src/jit/system/): runs at most `n` instructions exactly as run()
  // does (faults delivered through the IDT, interrupt windows, single-step) and returns
  // InstructionLimit after the n-th (an instruction that faults counts, ending in its
  // handler); with `poll`, a pending interrupt is taken first, as at run()'s entry. n = 0 only
  // polls.
  StopReason run_system_steps(CpuState& cpu, uint64_t n, bool poll);
  SystemMode* system_mode() const { return sys_.get(); }

 private:
  struct CacheEntry {
    uint64_t rip;         // ~0 = empty
    uint64_t code[2];     // the instruction's bytes, zero-padded to 16
    uint64_t mask[2];     // which bytes of code[] belong to the instruction
    Insn insn;
  };
  static constexpr size_t kCacheSize = 1 << 14;
  // (8,192: hello world's 5,300 misses keep the small table; the dynamic programs a shell
  // script execs, their loader and libc start-up in the jit's interpreter tier, grow it early,
  // where 65,536 left them missing in 2,048 entries: bash_script 2.4 -> 2.1 s CPU.)
  static constexpr uint64_t kGrowAfterMisses = 8192;

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
    CacheUnmap() : bytes(0) {}
    explicit CacheUnmap(size_t b) : bytes(b) {}
    size_t bytes;
    void operator()(CacheEntry* p) const;
  };
  std::unique_ptr<CacheEntry[], CacheUnmap> cache_;
  size_t cache_mask_ = kCacheSize - 1;
  uint64_t grow_at_misses_ = 0;  // 0: the table does not grow (the interp engine's)
  static std::unique_ptr<CacheEntry[], CacheUnmap> map_cache(size_t entries, bool populate);
  void grow_cache();
  size_t slot_of(uint64_t rip) const { return (rip ^ (rip >> 14)) & cache_mask_; }
  static uint64_t empty_tag(size_t slot) { return slot == 0; }
  // Which guest pages may have entries in the cache, hashed (page mod kCodePageBits): a set
  // bit only means "maybe". invalidate() walks the whole table only when its range touches a
  // set bit; most invalidations (mprotect of RELRO and data, munmap of buffers, every guest
  // mmap over an old range) are of pages that never held code, and the walk over the table
  // was ~1.2-2.3 MB of reads each time (issue 22).
  static constexpr size_t kCodePageBits = 1 << 16;
  uint64_t code_pages_[kCodePageBits / 64] = {};
  void note_code_page(uint64_t page) { code_pages_[(page / 64) % (kCodePageBits / 64)] |= uint64_t(1) << (page % 64); }
  bool may_hold_code(uint64_t addr, uint64_t len) const;
  uint64_t limit_ = 0;
  bool stop_at_branch_ = false;
  // A debugger's controls (debug_checks.cpp), null when none: one test per instruction.
  DebugControls* debug_ = nullptr;
  bool debug_breakpoint(CpuState& cpu);
  void debug_before(const Insn& in);
  bool debug_after();
  std::vector<std::pair<uint64_t, uint64_t>> watch_touched_;  // this instruction's memory operands
  std::vector<std::vector<uint8_t>> watch_old_;              // each watched range before it
  bool watch_implicit_ = false;  // this instruction accesses memory its operands do not name
  uint64_t decode_misses_ = 0;
  std::map<uint16_t, uint64_t> unimplemented_;  // mnemonic -> times hit
  std::unique_ptr<SystemMode> sys_;
  static constexpr uint64_t kUnlimitedSteps = ~uint64_t(0);
  uint64_t steps_left_ = kUnlimitedSteps;  // run_system_steps
};

}  // namespace vireo
