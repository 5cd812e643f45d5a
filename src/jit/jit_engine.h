// JitEngine: the dynamic binary translator (design.md, "The three engines": jit).
//
// run() looks up the translation block for cpu.rip (translating it on a miss), enters it
// through the trampoline, and serves what it exits for: chaining requests, indirect-branch
// misses, system calls, faults. Host faults inside translated code are mapped back to the
// guest instruction through the block's host-pc -> guest-pc map.
#pragma once

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "cpu/engine.h"
#include "interp/interpreter.h"
#include "jit/backend/x64/emitter.h"
#include "jit/cache/code_cache.h"
#include "jit/cache/guess_sites.h"
#include "jit/cache/shared_code.h"
#include "jit/frontend/translator.h"
#include "jit/tiering.h"
#include "mem/host_fault.h"

namespace vireo::jit {

struct JitOptions {
  size_t tc_size = 16 << 20;  // translation cache bytes (--tc-size)
  bool chain = true;          // direct block chaining (--no-chain turns it off)
  bool jump_cache = true;     // indirect-branch jump cache (--no-jump-cache)
  bool follow_calls = true;   // translate a direct call's callee in its caller's block (--no-follow-calls)
  uint32_t max_block_insns = 64;
  // Count retired guest instructions in CpuState::insn_count (for --stats). Off, blocks skip
  // the counter: its read-modify-write at every block entry is a memory dependency chain
  // through all of the guest's execution.
  bool count_insns = true;
  // Time each translation for --stats' "translation time". Off, a block skips its two clock
  // reads (~0.1 us each here: 2% of a 5-instruction block's translation).
  bool time_translation = true;
  // -d items (QEMU's names): in_asm, op, out_asm, exec.
  bool log_in_asm = false, log_op = false, log_out_asm = false, log_exec = false;
  std::FILE* log = stderr;    // -D FILE
  // --perfmap: one line per translated block ("HOSTADDR SIZE guest:PC") appended to this file
  // (/tmp/perf-PID.map), so that `perf report` names the blocks JIT code samples fall in.
  std::FILE* perfmap = nullptr;
  // What the engines of one guest's threads share (made by the platform's engine factory, one
  // per address space); null: this engine makes its own (a single-threaded guest, tests).
  std::shared_ptr<SharedCode> shared;
  // Which tier runs a block (jit/tiering.h). The default translates every block at its first
  // entry (tests of the translator); `vireo run` starts new code in the interpreter.
  TierOptions tiers;
};

// Interpreter fallbacks per mnemonic (--stats): ~1,800 counters, 14 KB, allocated when the
// first fallback is translated. Held in the engine, they were zeroed at every engine's
// construction: 3-4 page faults per process and per exec, most programs translating none
// (issue 22, "Start-up, seventh pass").
class FallbackCounts {
 public:
  static constexpr size_t kSize = ZYDIS_MNEMONIC_MAX_VALUE + 1;
  uint64_t* counter(size_t mnemonic) {
    if (!n_) n_.reset(new uint64_t[kSize]());
    return &n_[mnemonic];
  }
  uint64_t operator[](size_t mnemonic) const { return n_ ? n_[mnemonic] : 0; }
  // (every counter, zeros included, or none before the first fallback)
  const uint64_t* begin() const { return n_.get(); }
  const uint64_t* end() const { return n_ ? n_.get() + kSize : nullptr; }
  void add(const FallbackCounts& o) {
    if (!o.n_) return;
    for (size_t m = 0; m < kSize; ++m) *counter(m) += o.n_[m];
  }

 private:
  std::unique_ptr<uint64_t[]> n_;
};

struct JitStats {
  uint64_t blocks_translated = 0, guest_insns_translated = 0, host_bytes = 0;
  uint64_t flushes = 0, chains_patched = 0, block_entries = 0;
  uint64_t self_loop_blocks = 0;  // blocks that loop in place (an exit to their own start)
  uint64_t tail_blocks = 0;       // blocks with a tail (a side exit's path back to their start)
  uint64_t jump_cache_hits = 0, jump_cache_misses = 0;
  uint64_t invalidations = 0, regalloc_retries = 0;
  uint64_t smc_write_faults = 0, smc_invalidated_blocks = 0;
  // Checked pages (docs/jit.md): blocks translated with an entry check, and their stale exits.
  uint64_t checked_blocks = 0, checked_stale = 0;
  uint64_t watch_faults = 0;  // accesses to gdb-watched pages, run in the interpreter
  // Indirect calls guessed at translation time (call_guess.h, guess_sites.h): the guesses
  // translated, their guards' misses, the sites no longer guessed and the blocks dropped so.
  uint64_t guessed_calls = 0, guess_misses = 0, guess_sites_dropped = 0, guess_blocks_dropped = 0;
  std::chrono::nanoseconds translate_time{0};
  uint64_t translated_insns = 0;  // guest instructions run in translated code (under --stats)
  FallbackCounts fallbacks_by_mnemonic;
};

class JitEngine final : public Engine {
 public:
  JitEngine(const GuestMemory& mem, JitOptions opts);
  ~JitEngine() override;

  StopReason run(CpuState& cpu) override;
  const char* name() const override { return "jit"; }
  void print_stats(std::FILE* out, double seconds) const override;
  void invalidate(uint64_t addr, uint64_t len) override;
  void mapped(uint64_t addr, uint64_t len) override;  // (jit/watch_step.cpp)
  void shared_file_mapped(uint64_t addr, uint64_t len) override;
  bool park() override;
  void prepare_guest_write(uint64_t addr, uint64_t len) override;
  void prepare_guest_read(uint64_t addr, uint64_t len) override;  // (watch_step.cpp)
  void merge_stats(const Engine& other) override;
  void forked() override;
  void fork_parent() override;
  std::shared_ptr<KeptDecodes> keep_decodes() override { return interp_.keep_decodes(); }
  // Breakpoints end blocks (the dispatcher checks them, chaining never jumps to one);
  // single-steps run in the interpreter, which checks them per instruction; watchpoints
  // protect their pages (jit/cache/watch_pages.h), and only accesses there are interpreted.
  bool set_debug(DebugControls* d, std::string* why = nullptr) override;

  const JitStats& stats() const { return stats_; }
  const TierStats& tier_stats() const { return tiering_.stats; }

 private:
  // `entry`: the state the block is about to start in, if known (indirect calls' guesses).
  TranslatedBlock* translate(uint64_t pc, const CpuState* entry = nullptr);
  void map_code_cache();  // (at the first translation)
  uint32_t block_insns_at(uint64_t pc) const;  // (the start-up phase's due heads: Tiering::pays_to_translate)
  uint16_t flags_hint_ = 0;  // CpuState's lazy flags word when translated code last returned
  // The interpreter tier (jit/tiering.h): Interpreter::run_tier until a head is due (`due`:
  // it stopped at one, at cpu.rip); `restart`: cpu.rip is a due head to interpret all the same.
  StopReason interpret_cold(CpuState& cpu, bool restart, bool& due);
  StopReason host_fault(CpuState& cpu);
  StopReason dispatch(CpuState& cpu);
  void guess_missed(uint64_t site, TranslatedBlock* b);  // (kExitGuessMiss)
  // Self-modifying code: pages holding translated code are write-protected on the host
  // (through shared_, since any thread may write them).
  // Returns whether one of its pages is checked (not protected: its blocks check their bytes).
  bool protect_code_pages(const TranslatedBlock& b);
  void drop_block_code(const TranslatedBlock* b);
  bool handle_code_write(uint64_t addr);  // a write fault on a protected page: true if handled
  void drop_stale_code();  // what other threads invalidated (shared_)
  void flush_cache();
  StopReason step_writer(CpuState& cpu);  // runs the writing instruction in the interpreter
  void log_block(const ir::Block& before, const ir::Block& after, const TranslatedBlock& tb);

  GuestMemory mem_;
  JitOptions opts_;
  Interpreter interp_;
  CodeCache cache_;
  GuessSites guess_sites_;  // (kept across flushes: a site that kept missing stays unguessed)
  Trampolines tramp_{};  // (made with the cache's mapping: map_code_cache)
  Runtime rt_;
  GuestFaultScope scope_;
  JitStats stats_;
  Tiering tiering_;
  uint64_t insns_at_enter_ = 0;  // cpu.insn_count when translated code was last entered
  std::shared_ptr<SharedCode> shared_;
  SharedCode::Member* member_ = nullptr;
  // Where other threads raise this engine's exit request while no thread runs it (park()).
  volatile uint32_t parked_exit_request_ = 0;
  DebugControls* debug_ = nullptr;  // a debugger's controls, or null
  StopReason debug_dispatch(CpuState& cpu, bool& handled);  // joined at the first run (its CpuState known then)
  // gdb watchpoints by page protection (watch_step.cpp).
  bool watch_in_interp_ = false;  // a set the protection cannot serve: the interpreter runs it
  std::vector<uint64_t> kernel_lifted_;  // watched pages the kernel side of a syscall accesses
  bool watched_fault(const CpuState& cpu);  // cpu.fault is an access the watch protection stopped
  StopReason step_watched(CpuState& cpu);  // runs that instruction in the interpreter
  void watch_kernel_access(uint64_t addr, uint64_t len);
  void settle_kernel_lifts();
};

// --stats: the interpreter fallbacks by mnemonic (jit_engine.cpp; the system jit's too).
// by_mnemonic: ZYDIS_MNEMONIC_MAX_VALUE + 1 counters, or null (none yet).
void print_fallbacks(std::FILE* out, const uint64_t* by_mnemonic);

}  // namespace vireo::jit
