// Tiering: which tier runs the block at a guest pc (design.md, "Tiers").
//
// New code starts in the interpreter, the reference engine, on the same CpuState: the
// dispatcher asks `enter_cold` each time it reaches a pc that has no translation, and the
// interpreter runs from there to the next taken branch. A pc entered `translate_after` times is
// translated (with the translator's passes). Translating costs about a thousand times what
// interpreting an instruction does (docs/performance.md, "Tiers"), so code that runs a few
// times — program start-up, the dynamic linker, every exec'd process's first milliseconds —
// is never translated at all.
//
// Self-modifying code: a page whose translations are invalidated by guest writes again and
// again is *demoted*: its code runs in the interpreter (whose decode cache re-checks the
// bytes at every fetch, so it needs no write protection) instead of being translated, faulted
// on and thrown away at every rewrite. A demoted page is tried in translation again after it
// has been entered `retry_entries` times, doubling at each demotion, so that a program that
// generates code once and then runs it (a guest JIT) gets translated code eventually.
//
// One Tiering per JitEngine, that is per guest thread: its counters need no lock.
#pragma once

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace vireo::jit {

struct TierOptions {
  // Entries of a pc in the interpreter before it is translated; 0 translates every block at
  // its first entry (no interpreter tier).
  uint32_t translate_after = 0;
  // Start-up (issue 22): while a guest thread has run fewer than `startup_insns` instructions
  // in the interpreter tier, a block is translated at its `startup_translate_after`th entry
  // instead (0: no start-up phase). Exec-heavy work is mostly short processes (a dynamic
  // program's loader and libc start-up: 0.1-1 M instructions) whose blocks run tens of times
  // at most, where translating at the 8th entry does not pay; a long run gets N soon enough.
  uint32_t startup_translate_after = 0;
  // (1,000,000 until the fourth cold-code pass: python3 -c pass runs 1.7 M instructions in the
  // interpreter tier, 0.95 M of them with no start-up phase, and paid ~10% for a phase that
  // long; bash_script's exec'd programs are served as well by 300,000: docs/performance.md,
  // "Cold code, fourth pass")
  uint64_t startup_insns = 300'000;
  // SMC write faults on one page, while it holds translated code, before it is demoted.
  uint32_t demote_after_faults = 4;
  // Entries of a demoted page's code before it is translated again (doubled per demotion).
  uint32_t retry_entries = 4096;
  // The interpreter's decode cache, entries (a power of two): the interpreter tier runs cold
  // code, mostly once, so a small table mapped at once beats the interp engine's large one
  // faulted in page by page (hello world: ~700 of its 1,300 page faults were that table's).
  // It starts at 2,048 entries (288 KB: a populated page costs ~1 µs here, hello world 0.4 ms
  // less than with 8,192) and grows to 16,384 when the cold code is more (interp/interpreter.h).
  size_t interp_cache_entries = 2048;
};

struct TierStats {
  uint64_t interp_insns = 0;     // guest instructions run by the interpreter tier
  uint64_t interp_entries = 0;   // times the interpreter tier ran a block
  uint64_t pages_demoted = 0;    // SMC demotions
  uint64_t demoted_entries = 0;  // interpreter-tier entries on demoted pages
};

class Tiering {
 public:
  explicit Tiering(const TierOptions& o) : o_(o) {}

  // The dispatcher reached `pc`, which has no translation. True: translate it now; false: run
  // it in the interpreter (counted).
  bool enter_cold(uint64_t pc);
  // A guest write hit translated code on the page holding `addr`; may demote the page.
  void note_code_write(uint64_t addr);
  // A full flush forgets translation counts (the code is cold again) but not demotions.
  void forget_counts() { counts_.clear(); }
  // Distinct pcs counted since the last flush (tests).
  size_t counted_pcs() const { return counts_.size(); }

  bool interpreter_tier() const { return o_.translate_after != 0; }
  // The entry count at which a cold block is translated now (start-up phase or not).
  uint32_t threshold() const {
    return o_.startup_translate_after && stats.interp_insns < o_.startup_insns ? o_.startup_translate_after
                                                                               : o_.translate_after;
  }
  const TierOptions& options() const { return o_; }
  TierStats stats;

 private:
  struct PageState {
    uint32_t faults = 0;         // SMC write faults since the page was last (re)promoted
    uint32_t demotions = 0;
    uint64_t entries_left = 0;   // > 0: demoted, interpreted until this many more entries
  };
  // pc -> interpreter-tier entries: open addressing, linear probing. It is asked at every
  // entry of cold code; as a std::unordered_map it was 5% of an exec-heavy run (issue 22).
  // A slot is 8 bytes, a 32-bit tag and the count: the table is as large as the cold code is
  // wide (python3 -c pass counts ~50,000 pcs) and each entry is a cache miss, so half the
  // bytes is half the lines ("Cold code, fourth pass": 16-byte slots were 2.1% of that run).
  // The tag is a hash of the pc: two pcs with the same tag share a count (one of them is
  // translated a few entries early, no more; with 32 bits and 50,000 pcs, about never).
  // A translated pc's count goes back to 0 rather than out of the table (no deletions): if
  // its code is invalidated it starts cold again, as it did.
  class EntryCounts {
   public:
    uint32_t& operator[](uint64_t pc);
    void clear() { slots_.clear(); used_ = 0; }
    size_t size() const { return used_; }

   private:
    struct Slot {
      uint32_t tag;  // 0: free
      uint32_t n;
    };
    static uint64_t mix(uint64_t x) { return x * 0x9E3779B97F4A7C15ull; }
    // The tag is all a slot keeps of its pc, so the slot index is a hash of the tag (a grown
    // table rehashes from the tags alone).
    static uint32_t tag_of(uint64_t pc) { return uint32_t(mix(pc) >> 32) | 1; }
    size_t index_of(uint32_t tag) const { return size_t(mix(tag) >> shift_); }
    void grow();
    std::vector<Slot> slots_;
    unsigned shift_ = 64;
    size_t used_ = 0;
  };
  TierOptions o_;
  EntryCounts counts_;
  std::unordered_map<uint64_t, PageState> pages_;   // page number -> SMC history
};

}  // namespace vireo::jit
