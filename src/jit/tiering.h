// Tiering: which tier runs the block at a guest pc (design.md, "Tiers").
//
// New code starts in the interpreter, the reference engine, on the same CpuState: the
// dispatcher hands a pc that has no translation to the interpreter tier
// (Interpreter::run_tier), which runs as the interp engine does, through taken branches, and
// counts the entries of each block head in the head's decode-cache entry. It comes back only at
// a head entered `threshold()` times — due for translation, or translated already — at a
// syscall, a fault, or when the threshold changes. A due head is translated (with the
// translator's passes) unless its page is demoted (below). Translating costs hundreds of times
// what interpreting an instruction does (docs/performance.md, "Tiers"), so code that runs a
// few times — program start-up, the dynamic linker, every exec'd process's first
// milliseconds — is never translated at all.
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
#include <cstddef>
#include <cstdint>
#include <unordered_map>

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
  // A forked child starts its own phase (a shell's subshells are short processes too). With
  // nothing translated by then, the phase goes on until the first translation (in_startup).
  // (`vireo run`: 256; 64 until the interpreter tier ran the interp engine's loop, which made
  // interpreting cheaper: docs/performance-history.md, "Interpreter tier on the engine's loop".)
  uint32_t startup_translate_after = 0;
  // (1,000,000 until the fourth cold-code pass: python3 -c pass runs 1.7 M instructions in the
  // interpreter tier, 0.95 M of them with no start-up phase, and paid ~10% for a phase that
  // long; bash_script's exec'd programs are served as well by 300,000: docs/performance-history.md,
  // "Cold code, fourth pass")
  uint64_t startup_insns = 300'000;
  // In the start-up phase a due head is translated only once its entries so far times its
  // block's length (its straight-line instructions, from the tier's decode cache) reach this
  // many instructions; until then it counts another `startup_translate_after` entries (0:
  // translated when due). A young process's first translations are its dearest: the code
  // cache is mapped, the trampolines made, the translator's code and data faulted in (an
  // exec'd `tr` translating 2 blocks took ~0.5 ms more CPU than translating none), and the
  // small loops every process runs at its start (a static glibc's tunables parser: 3 blocks of
  // 6-14 instructions, ~12,000 instructions after their 256th entry; a dynamic program's
  // loader hashing and comparing symbol names, strlen) do not run long enough after to pay
  // for it: by that the jit lost to the interp engine on every exec-heavy workload
  // (docs/performance-history.md, "Start-up, tenth pass"). With 32,768 neither `true`, `busybox true`
  // nor an exec'd `tr` translates anything; a loop that has run this much (~0.15 ms of
  // interpreting) is one likely to run as much again. (`vireo run`: 32,768; 8,192 still
  // translated 2 blocks of `true` and 6 of `tr`.)
  uint32_t startup_translate_insns = 0;
  // A young process's first `startup_uncounted_insns` instructions in the tier, while nothing
  // is translated, run without head counts (Interpreter::TierRun::uncounted_until): the
  // interp engine's loop with a count down per instruction. In the start-up phase a head is
  // translated only once its entries times its block's length reach startup_translate_insns
  // (32,768), so counting a process's first instructions finds little: the head counts and
  // the branch test after each instruction were almost all of what the jit engine cost more
  // than the interp engine in a short exec'd program (~230,000 of ~264,000 host instructions
  // for `true`). A loop hot from a process's start is counted from here on. (`vireo run`:
  // 16,384, half the budget, with the start-up phase; 0: counted from the first instruction.
  // 32,768 saved more, but moved python3's start-up past a cliff: ld.so's symbol-lookup loop,
  // counted from its first entries, reaches the budget at ~339,000 instructions, and without
  // its first ~27,000 it did not, so python's first translation came at 563,000 and it
  // interpreted 225,000 instructions more: docs/performance-history.md, "The tier's gap to the
  // interp engine".)
  uint32_t startup_uncounted_insns = 0;
  // Big programs (issue 22, docs/performance-history.md "Big cold programs and peak RSS"): N doubles
  // for every `blocks_per_doubling` blocks in the translation cache, up to kMaxDoublings
  // times (0: N stays). Each translated block costs ~700 bytes for as long as it lives (~290
  // of host code, ~400 of records: exit slots, the pc map, the block table), the interpreter
  // tier nothing beyond its fixed decode pool; a program with this many blocks is one whose
  // cold code is large (cc1: 51,000 blocks at N = 8, 80.8 MiB peak RSS of which 35 MB is
  // translations), and there the blocks entered 8-63 times cost as much CPU to translate
  // as to interpret. Programs with fewer live blocks (python's start-up 7,200, sqlite 2,900;
  // codegen translates 20,000 but drops its stale ones, 4,100 live at exit) are not touched.
  // (`vireo run`: 8,192 unless --translate-after fixes N.)
  uint32_t blocks_per_doubling = 0;
  static constexpr unsigned kMaxDoublings = 3;
  // SMC write faults on one page, while it holds translated code, before it is demoted.
  uint32_t demote_after_faults = 4;
  // Entries of a demoted page's code before it is translated again (doubled per demotion).
  uint32_t retry_entries = 4096;
  // The interpreter's decode cache, entries (a power of two): the interpreter tier runs cold
  // code, mostly once, so a small table mapped at once beats the interp engine's large one
  // faulted in page by page (hello world: ~700 of its 1,300 page faults were that table's).
  // It starts at 2,048 entries (288 KB: a populated page costs ~1 µs here, hello world 0.4 ms
  // less than with 8,192) and grows, 8 times at a step, to 131,072 when the cold code is more
  // (interp/interpreter.h, kTierIndexMax).
  size_t interp_cache_entries = 2048;
};

struct TierStats {
  uint64_t interp_insns = 0;     // guest instructions run by the interpreter tier
  uint64_t interp_entries = 0;   // block heads the interpreter tier entered
  uint64_t interp_runs = 0;      // times the dispatcher handed cold code to the interpreter tier
  uint64_t pages_demoted = 0;    // SMC demotions
  uint64_t demoted_entries = 0;  // interpreter-tier entries on demoted pages
  uint64_t startup_deferrals = 0;  // due heads interpreted again in the start-up phase (pays_to_translate)
};

class Tiering {
 public:
  explicit Tiering(const TierOptions& o) : o_(o) {}

  // A block at `pc`, which has no translation, has been entered `entries` more times: its
  // threshold in the interpreter tier, or 1 at each entry without that tier. True: translate
  // it now; false: interpret it (its page is demoted).
  bool due(uint64_t pc, uint32_t entries);
  // The head at `pc` is due, with `block_insns` instructions in its block: whether translating
  // it pays yet (TierOptions::startup_translate_insns; always after the start-up phase).
  // False: it is interpreted for another threshold() entries, then asked again.
  bool pays_to_translate(uint64_t pc, uint32_t block_insns);
  // Whether due heads are still weighed by pays_to_translate (the start-up phase, with a
  // budget), so that a caller measures a head's block only then; false from then on, and the
  // heads deferred are forgotten.
  bool weighs_due_heads() {
    if (o_.startup_translate_insns && in_startup()) return true;
    if (!deferred_.empty()) deferred_.clear();
    return false;
  }
  // A guest write hit translated code on the page holding `addr`; may demote the page.
  void note_code_write(uint64_t addr);

  bool interpreter_tier() const { return o_.translate_after != 0; }
  // The entry count at which a cold block is translated now (start-up phase or not), with
  // `live_blocks` blocks in the translation cache (TierOptions::blocks_per_doubling).
  uint32_t threshold(size_t live_blocks = 0) const {
    if (in_startup()) return o_.startup_translate_after;
    // (no division: asked at every dispatch to the interpreter tier, 800,000 times in cc1)
    const size_t step = o_.blocks_per_doubling;
    if (live_blocks < step || !step) return o_.translate_after;
    unsigned doublings = 1;
    while (doublings < TierOptions::kMaxDoublings && live_blocks >= step * (doublings + 1)) ++doublings;
    return o_.translate_after << doublings;
  }
  // Interpreter-tier instructions until threshold() changes (the start-up phase ends), or 0.
  // (past its instructions with nothing translated yet: until kLateStartups times them)
  uint64_t insns_until_steady() const {
    return !in_startup() ? 0 : young() ? o_.startup_insns - age() : o_.startup_insns * kLateStartups - age();
  }
  // Tier instructions this process may still run without head counts
  // (TierOptions::startup_uncounted_insns), or 0. (The caller asks only while nothing is
  // translated: code that has translations must be counted to be found.)
  uint64_t uncounted_insns_left() const {
    return in_startup() && age() < o_.startup_uncounted_insns ? o_.startup_uncounted_insns - age() : 0;
  }
  // A block was translated in this process (or its parent, before a fork: the translator's
  // code and data are in memory, the cache mapped).
  void note_translation() {
    if (!translated_ && !young()) late_ = true;
    translated_ = true;
  }
  // The engine runs in a forked child: a new process, whose start-up phase starts now.
  void new_process() {
    born_at_ = stats.interp_insns;
    forked_ = true;
    phase_open_ = o_.startup_translate_after != 0;
    late_ = false;
  }
  // True once when the start-up phase has ended late, at the process's first translation
  // past its instructions (in_startup): the caller then restarts the interpreter tier's head
  // counts (Interpreter::restart_head_counts). Counted towards the phase's N (256), they were
  // all due at once under the steady N (8): every head entered 8 times in the start-up code
  // was translated at its next entry, whether it ran again or not (an exec'd `wc -l`, 304,000
  // instructions, translated 47 blocks to run 1,952 instructions in them when the phase ended
  // at 300,000: docs/performance-history.md, "Fork and exec, sixteenth pass"). Not when the phase ends
  // on time, in a process that translated in it: its hot code is known, and counting it
  // afresh kept it in the tier for 8 more entries (busybox sh's loop of execs: each count
  // stored on a pool page shared with the last fork copied it, +17 page faults a fork).
  bool startup_ended_late() {
    if (!phase_open_ || in_startup()) return false;
    phase_open_ = false;
    return late_;
  }
  // A forked child in its start-up phase does not store the entry counts of the code its
  // parent decoded (Interpreter::TierRun::keep_inherited): those decode-pool pages are shared
  // with the parent copy-on-write, and a shell's subshell that stored its counts there copied
  // a 4 KiB page per store on a new page, ~1 ms per subshell (7% of bash_script's CPU with the
  // tier alone, docs/performance-history.md "Tiers, exec-heavy pass"). Such code is interpreted there
  // (or runs translated, if its parent translated it); code the child decodes itself is
  // counted as usual, and a child that lives past its start-up counts everything again.
  bool keeps_parent_counts() const { return forked_ && young(); }
  // The engine's process forked a child; true if, from now on in its start-up phase, it does
  // not store the entry counts of the code decoded before the fork either (keeps_shared_counts).
  // The parent's pool pages are then shared with the child: the first count stored on each
  // copied it (or, the child gone, took a fault to make it writable again), every fork
  // again: busybox sh running a loop of 150 execs took 15 such faults per fork, forkexec 5
  // (docs/performance-history.md, "Fork and exec, thirteenth pass"). Counting there waits for the
  // end of the phase, as a forked child's does; a parent past its start-up counts as before.
  bool parent_forked() {
    if (!young()) return false;
    forked_parent_ = true;
    return true;
  }
  bool keeps_shared_counts() const { return forked_parent_ && young(); }
  const TierOptions& options() const { return o_; }
  TierStats stats;

 private:
  uint64_t age() const { return stats.interp_insns - born_at_; }  // interpreter-tier instructions
  // The start-up phase: the process's first startup_insns instructions in the tier, and after
  // them until its first translation (note_translation). A process's first translation is its
  // dearest (the code cache mapped, the trampolines made, the translator's code and data
  // faulted in: ~1 ms here), and one that has found no block worth it by the phase's budget
  // (startup_translate_insns) in its first 300,000 instructions is most often one about to
  // exit (an exec'd `date`, `sort` or `expr`, 300,000-350,000 instructions, translated 8-150
  // blocks at N = 8 to run 300-27,000 instructions in them: docs/performance-history.md, "Fork and
  // exec, sixteenth pass"). A long one finds its hot loop by the budget as it would have in
  // its first 300,000.
  // (At most kLateStartups times its instructions: a phase N nothing reaches, an explicit
  // --startup-translate-after, must not keep a long run in the tier.)
  bool in_startup() const {
    return o_.startup_translate_after && (young() || (!translated_ && age() < o_.startup_insns * kLateStartups));
  }
  static constexpr uint64_t kLateStartups = 4;
  // Its first startup_insns instructions (what a forked process's counts follow).
  bool young() const { return o_.startup_translate_after && age() < o_.startup_insns; }
  uint64_t born_at_ = 0;  // stats.interp_insns when this process started (its parent's, after fork)
  bool forked_ = false;   // this process is a fork of the one that made the engine
  bool forked_parent_ = false;  // this process forked in its start-up phase (parent_forked)
  bool translated_ = false;  // note_translation (kept by a forked child: its cache is its parent's)
  bool late_ = false;  // the first translation came after the phase's instructions
  struct PageState {
    uint32_t faults = 0;         // SMC write faults since the page was last (re)promoted
    uint32_t demotions = 0;
    uint64_t entries_left = 0;   // > 0: demoted, interpreted until this many more entries
  };
  TierOptions o_;
  bool phase_open_ = o_.startup_translate_after != 0;  // startup_ended_late has not said so yet (after o_)
  std::unordered_map<uint64_t, PageState> pages_;   // page number -> SMC history
  // Start-up heads interpreted again (pays_to_translate): pc -> times, each after
  // startup_translate_after more entries. (A few tens per process: most heads never get due.)
  std::unordered_map<uint64_t, uint32_t> deferred_;
};

}  // namespace vireo::jit
