// SystemJitEngine: the jit in system mode (`vireo boot --engine jit`), QEMU-TCG-style full-system
// translation on the same CpuState, board and loaders as the interpreter's system mode.
//
// The translator, passes and backend are user mode's; what differs is chosen here, when the
// engine is created:
//   - memory: the backend's memory-access interface in its softmmu form (Runtime::tlb_table:
//     an inline lookup in the softmmu's JIT TLB, a slow path that fills it or leaves the block
//     for the interpreter; backend/x64/memory_softmmu.cpp);
//   - blocks are keyed by (physical pc, virtual pc, mode bits) and never leave the page of
//     their first instruction; chains are patched only between blocks of one page;
//   - self-modifying code: physical pages holding translated code are marked (softmmu::
//     CodeWatch); their JIT TLB slots get no write tag, so every write to them, through any
//     mapping, goes through the interpreter, which drops their code first (Mmu::note_write);
//   - every instruction the frontend does not translate, privileged or not, runs in the
//     system interpreter (Interpreter::run_system_steps): the system instructions, exception
//     delivery and interrupt windows are written once, there;
//   - 64-bit code only: 16- and 32-bit code (boot trampolines) runs in the interpreter.
#pragma once

#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <unordered_map>

#include "cpu/decoder.h"
#include "cpu/engine.h"
#include "interp/interpreter.h"
#include "jit/backend/x64/emitter.h"
#include "jit/cache/code_cache.h"
#include "machine/system_bus.h"
#include "mem/softmmu/mmu.h"

namespace vireo {
struct SystemMode;
}

namespace vireo::jit {

struct SystemJitOptions {
  size_t tc_size = 16 << 20;
  bool chain = true;
  bool jump_cache = true;
  bool count_insns = true;  // --stats: retired instructions and inline TLB hits
  bool log_in_asm = false, log_op = false, log_out_asm = false, log_exec = false;
  std::FILE* log = stderr;
  std::FILE* int_log = nullptr;  // -d int (the interpreter delivers every event)
  std::FILE* unimp_log = nullptr;  // -d unimp: unknown MSRs (the interpreter's)
  // --check interp: each block is replayed under the interpreter from the same state and the
  // results compared (system_check.cpp).
  bool check = false;
  // The interpreter tier: a block start is translated at its translate_after-th entry; before
  // that the interpreter runs it (0: everything is translated at its first entry).
  uint32_t translate_after = 0;
};

struct SystemJitStats {
  uint64_t blocks_translated = 0, guest_insns_translated = 0, host_bytes = 0, flushes = 0;
  uint64_t blocks_by_cpl[4] = {}, entries_by_cpl[4] = {};
  uint64_t chains_patched = 0, jump_cache_hits = 0, jump_cache_misses = 0;
  uint64_t tlb_hits = 0, tlb_fills = 0, tlb_slow_exits = 0;
  uint64_t smc_pages = 0, smc_blocks = 0;
  uint64_t interrupts_at_entry = 0;
  uint64_t interp_steps = 0;  // instructions the dispatcher ran in the interpreter
  uint64_t cold_runs = 0;     // runs of cold code in the interpreter tier
  uint64_t checked_blocks = 0, unchecked_blocks = 0;
  std::chrono::nanoseconds translate_time{0};
  uint64_t fallbacks_by_mnemonic[ZYDIS_MNEMONIC_MAX_VALUE + 1] = {};
  // IRETQ, SYSRET, INVLPG and rep movs/stos run by the engine's own helpers (system_helpers.cpp)
  uint64_t helpers_by_mnemonic[ZYDIS_MNEMONIC_MAX_VALUE + 1] = {};
};

class SystemJitEngine final : public Engine, public softmmu::CodeWatch {
 public:
  SystemJitEngine(machine::SystemBus& bus, uint8_t* ram, uint64_t ram_size, SystemJitOptions opts);
  ~SystemJitEngine() override;

  StopReason run(CpuState& cpu) override;
  const char* name() const override { return "jit"; }
  void print_stats(std::FILE* out, double seconds) const override;

  // softmmu::CodeWatch: a write to guest-physical [pa, pa + len) that holds translated code.
  void code_written(uint64_t pa, uint64_t len) override;
  // gdb (system_debug.cpp): breakpoints end blocks, single-steps and accesses to watched
  // pages run in the interpreter.
  bool set_debug(DebugControls* d, std::string* why = nullptr) override;

  const SystemJitStats& stats() const { return stats_; }

  // The helpers translated code calls (Runtime): they reach the running engine through this.
  static uint32_t fallback_helper(CpuState* cpu, FallbackInsn* f);
  static uint32_t tlb_fill_helper(CpuState* cpu, uint64_t addr, uint64_t how);
  // rep movs/stos (RepString ops) through the softmmu, a page at a time (system_helpers.cpp).
  static uint32_t rep_string_helper(CpuState* cpu, FallbackInsn* f, const GuestMemory* mem);

 private:
  struct Key {
    uint64_t phys_pc, virt_pc;
    uint32_t mode;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<uint64_t>()(k.phys_pc * 0x9E3779B97F4A7C15ull ^ k.virt_pc ^ (uint64_t(k.mode) << 56));
    }
  };
  // What a block's translation depends on besides its bytes: CPL, CS.L/CS.D, the paging mode.
  static uint32_t mode_bits(const CpuState& c);
  // Whether the next instruction must run in the interpreter (not 64-bit code, TF, an STI or
  // MOV SS shadow, an interrupt window about to open, unmasked SSE exceptions, alignment checks).
  bool must_interpret(const CpuState& c) const;
  // The block for cpu.rip in the current mode (translated on a miss); null when the
  // interpreter must run the instruction (a fetch fault, code outside RAM, untranslatable).
  // With the interpreter tier, a block entered fewer than translate_after times is not
  // translated: null, and *cold set (the entry counted) when `cold` is given.
  TranslatedBlock* lookup(CpuState& cpu, Key& key, bool* cold = nullptr);
  // A block start not translated yet: its entries, and how many instructions its last run in
  // the interpreter took to reach a taken branch (0: not known, or it stopped otherwise).
  struct ColdEntry {
    uint32_t entries = 0;
    uint32_t run_length = 0;
  };
  StopReason run_cold(CpuState& cpu, ColdEntry& e);
  ColdEntry* cold_entry_ = nullptr;  // what the last lookup that returned cold code counted
  TranslatedBlock* translate(const Key& key, uint8_t* host_page);
  void mark_code_page(uint64_t phys_page);
  void flush_cache();
  void emit_thunks();  // what the blocks of a (new or emptied) cache call: the TLB-fill thunk
  void forget(TranslatedBlock* b);
  // The jump caches (virtual pc -> translated code, read by translated code's indirect and
  // cross-page exits): one per privilege (CPL 3, supervisor), so a system call or an IRET to
  // user mode forgets nothing; each holds only blocks of the current translation, so what the
  // TLB drops goes from them too (jump_caches_follow_tlb).
  struct JumpCache {
    std::unique_ptr<JumpCacheEntry[]> entries{new JumpCacheEntry[CodeCache::kJumpCacheSize]};
    // The dispatcher's side of each entry: the block and its key's physical pc.
    std::unique_ptr<std::pair<TranslatedBlock*, uint64_t>[]> blocks{
        new std::pair<TranslatedBlock*, uint64_t>[CodeCache::kJumpCacheSize]};
    uint32_t mode = ~0u;                // the mode bits its blocks were translated under
    uint64_t page_bits[64] = {};        // code pages present (hashed): INVLPG of others keeps it
    bool non_global = false;            // holds code from a non-global page (a CR3 write drops it)
    void clear();
    static size_t page_hash(uint64_t la) { return ((la >> 12) ^ (la >> 24)) & 4095; }
  };
  JumpCache jc_[2];
  void clear_jump_caches() {
    jc_[0].clear();
    jc_[1].clear();
  }
  void jump_caches_follow_tlb(const softmmu::TlbFlushLog& log);
  void jump_cache_fill(const Key& key, TranslatedBlock* b);
  StopReason step_interpreter(CpuState& cpu, bool poll);
  // The after-block word translated STI and POPFQ write (frontend/system.h: kAfterSti,
  // kAfterPoll), and what the dispatcher does for it when their block has left.
  uint32_t after_block_ = 0;
  StopReason finish_block(CpuState& cpu);
  // Runs translated code from b; rethrows what a helper caught (MachineStop) once outside it.
  uint32_t enter(CpuState& cpu, TranslatedBlock* b, void*& link);
  StopReason dispatch(CpuState& cpu);
  void log_block(const ir::Block& before, const ir::Block& after, const TranslatedBlock& tb, const uint8_t* host_page,
                 uint64_t virt_page);
  uint64_t delivered_external() const;
  uint64_t delivered_events() const;  // exceptions and interrupts of every kind

  // gdb (system_debug.cpp)
  DebugControls* debug_ = nullptr;
  std::vector<uint64_t> debug_breakpoints_;  // as last set: a change drops every translation
  std::vector<Watchpoint> debug_watches_;    // as last set: a change empties the JIT TLB
  StopReason debug_dispatch(CpuState& cpu, bool& handled);
  void drop_watched_tags(uint64_t la);  // after a JIT TLB fill of `la`

  // The helpers of system_helpers.cpp: IRETQ, SYSRET and INVLPG (run_helper, from
  // fallback_helper: false leaves the instruction to the interpreter) and rep movs/stos.
  bool run_helper(CpuState& c, FallbackInsn* f, uint32_t& code);
  uint32_t rep_string(CpuState& c, FallbackInsn* f);
  bool iretq_helper(CpuState& c, FallbackInsn* f, uint32_t& code);
  bool sysret_helper(CpuState& c, FallbackInsn* f, uint32_t& code);
  bool invlpg_helper(CpuState& c, FallbackInsn* f, uint32_t& code);
  uint32_t helper_done(CpuState& c, uint16_t mnemonic, uint32_t counted_after, bool go_on);
  uint32_t helper_not_started(CpuState& c, const FallbackInsn* f);
  uint8_t* helper_chunk(uint64_t la, uint64_t len, bool write, bool user);
  bool helper_read_qword(uint64_t la, bool user, uint64_t& v);
  bool helper_gdt_descriptor(const CpuState& c, uint16_t sel, uint64_t& raw);
  void print_helpers(std::FILE* out) const;
  // Whether a block holding this fallback can still be compared under --check interp.
  static bool checkable_fallback(const FallbackInsn& f);
  // After an INVLPG: whether what the TLB dropped leaves the code of the block at pc alone.
  static bool flush_spares_code(const softmmu::TlbFlushLog& log, uint64_t pc);

  // --check interp (system_check.cpp)
  StopReason run_checked_block(CpuState& cpu, TranslatedBlock* b, const Key& key, uint32_t& code, void*& link);

  SystemJitOptions opts_;
  uint8_t* ram_;
  uint64_t ram_size_;
  Interpreter interp_;
  SystemMode& sys_;
  softmmu::Mmu& mmu_;
  CodeCache cache_;
  Trampolines tramp_;
  Runtime rt_;
  SystemJitStats stats_;
  uint16_t flags_hint_ = 0;
  Decoder decoder_{CpuMode::Long64};
  std::unordered_map<Key, TranslatedBlock*, KeyHash> blocks_;
  std::unordered_map<TranslatedBlock*, Key> key_of_;
  std::unordered_map<Key, ColdEntry, KeyHash> cold_;  // block starts not translated yet
  // A direct-mapped cache in front of blocks_ and cold_ (the dispatcher's lookups missed in the
  // node-based maps' cache lines about a twentieth of a boot's time): a key's block, or its
  // entry count in cold_ (node-based: the pointer holds until the entry is erased).
  struct LookupSlot {
    Key key{~uint64_t(0), ~uint64_t(0), ~0u};
    TranslatedBlock* block = nullptr;
    ColdEntry* cold = nullptr;
  };
  static constexpr size_t kLookupSlots = 1 << 14;
  std::unique_ptr<LookupSlot[]> lookup_slots_{new LookupSlot[kLookupSlots]};
  LookupSlot& lookup_slot(const Key& k) {
    return lookup_slots_[(k.virt_pc ^ (k.virt_pc >> 14) ^ (k.phys_pc >> 2) ^ k.mode) & (kLookupSlots - 1)];
  }
  void drop_lookup_slot(const Key& k) {
    if (LookupSlot& s = lookup_slot(k); s.key == k) s = LookupSlot{};
  }
  // The exits that may be chained (to their block's own page), with their block and its key.
  std::unordered_map<ExitSlot*, std::pair<TranslatedBlock*, Key>> chainable_;
  bool jump_cache_hit_ = false;  // the last lookup was answered by a jump cache
  uint64_t next_id_ = 0;
  bool code_changed_ = false;
  // Per page of RAM: writes to a page holding code that touched none of it (code_written).
  static constexpr uint8_t kMaxSideWrites = 16;
  std::vector<uint8_t> side_writes_;
  std::exception_ptr pending_error_;  // set by code_written (a fallback that wrote code leaves its block)
  // --check interp: the pages written during a checked block, with their contents before it.
  std::unordered_map<uint64_t, std::unique_ptr<uint8_t[]>>* check_pages_ = nullptr;
};

}  // namespace vireo::jit
