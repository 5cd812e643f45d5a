// Interpreter: the reference engine. Decode (cached), execute, exact flags, exact exceptions.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
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
  // With a decode cache index of `cache_entries` slots (a power of two; 0: the interp
  // engine's, kIndexStart) mapped populated: a small index costs one mapping instead of a
  // read fault and a write fault on each page the decodes touch (issue 22, start-up). The
  // index grows (populated, 8 times larger, up to kIndexMax) once it has missed
  // kGrowAfterMisses times: a short process (hello world, an exec'd `true`) keeps 2,048
  // slots, a large program's cold code (python's start-up) gets 16,384, then 131,072.
  // `pool_entries` (tests): the decode pool's size instead of the engine's or the tier's.
  // cache_entries != 0 is the jit's interpreter tier (its smaller pool).
  // `pool_max` (tests): the most entries the pool grows to (grow_pool); 0: pool_entries' own
  // (no growth) when that is given, else the engine's or the tier's.
  Interpreter(const GuestMemory& mem, size_t cache_entries, size_t pool_entries = 0, size_t pool_max = 0);
  size_t decode_cache_entries() const { return index_mask_ + 1; }
  size_t decode_pool_entries() const { return pool_size_; }
  uint64_t decode_pool_wraps() const { return pool_wraps_; }
  // A static program's decode pool's first bytes, on 4 KiB pages prefaulted as decodes reach
  // them; past them, and in a dynamic program's pool from its start, transparent huge pages
  // (decode_pool.cpp, map_zeroed_huge; pool_head.h). Hello world's decodes fit.
  static constexpr size_t kPoolHead = size_t(1) << 20;
  static constexpr size_t kPoolChunk = size_t(64) << 10;  // (populate_pool_head)
  // (tests: where the pool is mapped, and an entry's size)
  const void* decode_pool() const { return pool_.get(); }
  static constexpr size_t decode_entry_bytes() { return sizeof(CacheEntry); }
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
  // (its decodes are the process's; each run binds the CpuState it is given)
  bool park() override { return debug_ == nullptr && !sys_; }
  // A forked child: the pool's entries so far are the parent's (link, mark_inherited).
  void forked() override { mark_inherited(); }

  // Stop after this many more instructions (difftest, tests); 0 = no limit.
  void set_instruction_limit(uint64_t n) { limit_ = n; }
  // Also stop (InstructionLimit) after an instruction that does not fall through to the next:
  // a taken branch, a call, a return (the jit's interpreter tier under a debugger runs a block
  // at a time).
  void set_stop_at_branch(bool on) { stop_at_branch_ = on; }

  // The jit's interpreter tier (jit/tiering.h): run() as the interp engine runs, through taken
  // branches, counting the entries of each *block head* (the first instruction of the run and
  // every target of an instruction that does not fall through) in its decode-cache entry. It
  // stops (InstructionLimit, before the head runs) at a head whose count reaches
  // `translate_at` — a block due for translation, or translated already — so the jit's
  // dispatcher sees only those, not every block (issue 22: returning to it at every block
  // made the tier 10-15% slower than the interp engine on exec-heavy work).
  struct TierRun {
    uint32_t translate_at = 1;  // entries of a head at which it is due (>= 1)
    // Stop at the first head once cpu.insn_count reaches this (the jit's N changes then).
    uint64_t yield_at_insn = ~uint64_t(0);
    // Stop at the next head once this is set (another thread made translated code stale).
    const std::atomic<bool>* yield_flag = nullptr;
    // Whether `pc` has a translation: asked when a head's entry is counted for the first time,
    // since its pc may have been translated under another entry (one decoded again after the
    // pool was emptied or its index slot reused): such a head is due at once.
    bool (*translated)(void* ctx, uint64_t pc) = nullptr;
    void* ctx = nullptr;
    // Run without counting heads until cpu.insn_count reaches this (the interp engine's loop,
    // the instruction count tested before each fetch), then count from the next instruction,
    // the run's first head (a young process's first instructions:
    // jit::TierOptions::startup_uncounted_insns). Nothing stops at a translated head meanwhile:
    // the jit asks for it only while nothing is translated.
    uint64_t uncounted_until = 0;
    // The first head's count restarts at 1 and it runs (the jit chose to interpret a due head).
    bool restart_first = false;
    // Counts in entries decoded before mark_inherited() are read, not stored (the jit's young
    // forked child: those pool pages are its parent's, copy-on-write, and each store was a
    // page copy; jit/tiering.h).
    bool keep_inherited = false;
    // With keep_inherited, the run's new decodes are indexed in a table of its own, not in the
    // shared index and memo (young_child): a forked child's. A forking parent's are indexed as
    // usual (the parent lives on: a small table of its own would miss for the rest of its run).
    bool own_decodes = true;
    // Out: the heads entered (the tier's block entries); whether the run stopped at a due head.
    uint64_t heads = 0;
    bool due = false;
  };
  StopReason run_tier(CpuState& cpu, TierRun& run);
  // The head the last run_tier stopped at, due, counts from 0 again (the jit chose to interpret
  // it for now: jit/tiering.h, pays_to_translate). Its own entry, the one the run fetched: a
  // head may have another entry for the same rip (its index slot was lost and it was decoded
  // again), and restart_first counts the entry the next run's fetch finds, which left this
  // one due at every entry.
  void cool_due_head() {
    if (last_ && last_->heads >= kDue) {
      last_->heads = 0;
      last_->wrap = epoch_;
    }
  }
  // Due heads count from 0 again (the jit dropped all its translations: what was translated
  // is interpreted N times before it is translated again, as when it was new).
  void cool_due_heads();
  // Every head's count but a due one's starts from 0 again (the jit's start-up phase ended and
  // its N with it: jit/tiering.h, Tiering::startup_ended_late). A new epoch: nothing is written.
  void restart_head_counts() { ++epoch_; }
  // Asks the host's caches for what a fetch at `rip` loads first: its index slot and the guest
  // code. The jit's dispatcher calls it when translated code leaves for a pc that is most
  // often cold (a return to an interpreted caller), so that these two misses overlap with its
  // own look-up of the translation cache instead of following it (cc1 hands 859,000 such pcs
  // to the interpreter tier).
  void prefetch_fetch(uint64_t rip) const {
    if (index_) __builtin_prefetch(&index_[slot_of(rip)]);
    if (rip < x_.mem.limit) __builtin_prefetch(x_.mem.base + rip);
  }
  // The entries decoded so far are inherited (the jit's forked child, or its parent after the
  // fork: TierRun::keep_inherited).
  // (Stored only when it changes: a parent marks at each fork in its start-up, and its child's
  // mark then finds the same end unless the parent decoded since: no page copy for it.)
  void mark_inherited() {
    if (inherited_end_ != pool_end_) inherited_end_ = pool_end_;
  }

  // An in-place execve (issue 22): the decode cache is handed to the next image's engine
  // instead of being dropped (interp/kept_decodes.cpp). keep_decodes() moves it out of this
  // engine (user mode only; null otherwise), which is then only destroyed; an Interpreter
  // constructed while offer_kept_decodes() (cpu/engine.h) holds a cache of its pool size
  // takes it over, keeping the entries on pages executable in the new image.
  std::shared_ptr<KeptDecodes> keep_decodes() override;
  // This engine took over a kept decode cache: its entries so far are inherited
  // (mark_inherited), and head counts and due heads from the old image read as 0.
  bool reused_decodes() const { return reused_; }

  // Called by the #UD path for a mnemonic without a handler: reported once per mnemonic.
  void report_unimplemented(const Insn& in);

  // Executes exactly one already-decoded instruction (used by the JIT as its fallback).
  StopReason step_one(CpuState& cpu, const Insn& in);

  uint64_t decode_misses() const { return decode_misses_; }
  // Misses served by copying the decode of the same bytes at another address (the memo).
  uint64_t decode_copies() const { return memo_hits_; }
  // Misses served by copying a decode made when Vireo was built (interp/known_shapes.h).
  uint64_t known_shape_copies() const { return known_hits_; }
  bool has_own_index() const { return own_index_ != nullptr; }  // (a young child's: young_child)

  // The decode cache's instruction at `rip` if it was decoded from these bytes (at least its
  // length of them), else null: the jit's translator reuses what its interpreter tier decoded.
  const Insn* cached_decode(uint64_t rip, const uint8_t* bytes, size_t avail) const {
    const CacheEntry* e = indexed(rip);
    return matches(e, rip, bytes, avail) ? &e->insn : nullptr;
  }
  // The same, looked for first where the interpreter's own fetch looks (the pool entry after
  // `prev`'s, then `prev`'s last other successor): straight-line code sits in consecutive
  // entries, and many are out of the direct-mapped index (conflicts) but still in the pool.
  // `prev` is what cached_decode or this returned since the interpreter last ran.
  const Insn* cached_decode_after(const Insn* prev, uint64_t rip, const uint8_t* bytes, size_t avail) const {
    const CacheEntry* p =
        reinterpret_cast<const CacheEntry*>(reinterpret_cast<const char*>(prev) - offsetof(CacheEntry, insn));
    const CacheEntry* e = p + 1 < pool_end_ && p[1].rip == rip ? p + 1
                          : p->next && p->next->rip == rip                 ? p->next
                                                                           : indexed(rip);
    return matches(e, rip, bytes, avail) ? &e->insn : nullptr;
  }

  // System mode, for the JIT (src/jit/system/): runs at most `n` instructions exactly as run()
  // does (faults delivered through the IDT, interrupt windows, single-step) and returns
  // InstructionLimit after the n-th (an instruction that faults counts, ending in its
  // handler); with `poll`, a pending interrupt is taken first, as at run()'s entry. n = 0 only
  // polls.
  StopReason run_system_steps(CpuState& cpu, uint64_t n, bool poll);
  SystemMode* system_mode() const { return sys_.get(); }

 private:
  friend struct KeptDecodes;
  Interpreter(const GuestMemory& mem, size_t cache_entries, size_t pool_entries, size_t pool_max,
              std::shared_ptr<KeptDecodes> kept);
  // The kept cache offered for a pool mapped for `pool_max` entries in the image `mem` shows,
  // if it fits it (taken: offered once), or null.
  static std::shared_ptr<KeptDecodes> take_kept(const GuestMemory& mem, size_t pool_max, bool tier);
  // Whether every page `k` holds decodes from is executable in this engine's (new) image.
  bool kept_fits(const KeptDecodes& k) const;
  void reuse_kept(KeptDecodes& k);
  bool reused_ = false;
  // The decode cache (Bochs keeps one too; system mode's is interp/system/fetch.cpp). Entries
  // are allocated from a pool in the order code is first run, so straight-line code sits in
  // consecutive entries: the next instruction is the entry after this one, checked by its rip,
  // and the host's prefetcher follows the run. `next` remembers the last other successor (a
  // taken branch, a call's target, a return address), so most branches do not consult the
  // index either. The index (direct-mapped on rip) finds the entry at any other address. A
  // full pool is overwritten from its start, oldest entries first (allocate_entry: the jit's
  // tier then starts its head counts afresh). Every use is checked against
  // the bytes in memory, which makes self-modifying code correct with no write tracking at all.
  //
  // (Until this design a direct-mapped table of 16,384 144-byte entries was the cache: python's
  // start-up (270,000 distinct instructions) missed on 2.4 of its 31 million, and each hit
  // touched a fresh cache line and often a fresh TLB entry of a 2.3 MB table: 1.05 s CPU for
  // `python3 -c pass`, of which 35% waited on the table and 30% decoded.)
  struct CacheEntry {
    uint64_t rip;       // kDeadRip: invalidated
    CacheEntry* next;   // the successor other than the next entry, the last time there was one
    // The jit's interpreter tier: entries as a block head, or kDue. (It makes an entry 128
    // bytes instead of 120; a count beside the entry, where the cache line is loaded anyway,
    // costs nothing to find, where a table of counts was a cache miss per block entry.)
    uint32_t heads;
    // The epoch (epoch_: the pool's wraps and execves) when `heads` was counted: a count from
    // an earlier epoch is 0 (a due head stays due past a wrap). (In the padding before
    // `insn`: free.)
    uint32_t wrap;
    Insn insn;
  };
  static constexpr uint32_t kDue = 1u << 31;  // a head due for translation, or translated
  static bool matches(const CacheEntry* e, uint64_t rip, const uint8_t* bytes, size_t avail) {
    return e && e->rip == rip && e->insn.len != 0 && e->insn.len <= avail &&
           std::memcmp(e->insn.bytes, bytes, e->insn.len) == 0;
  }
  static constexpr uint64_t kDeadRip = ~uint64_t(0);  // (never fetched on the fast path: rip & 4095 > 4080)
  // The interp engine's pool: 262,144 entries (32 MB of address space, touched as code is
  // decoded: python's start-up, 145,000 distinct instructions, uses 18 MB of it). 524,288
  // until the pool was overwritten oldest first instead of emptied: cc1 (gcc -O2 -c, 670,000
  // distinct instructions) then took the same CPU in half the pool and 33 MB less peak RSS
  // (docs/performance-history.md, "Decode cache"). Less the memo's templates' 512 KB (kTemplateSlots
  // entries' worth), which a program that fills this much of its pool also maps.
  static constexpr size_t kPoolSize = (1 << 18) - (1 << 12);
  // Both indexes start at kIndexStart slots and grow to kIndexMax. The interp engine's was
  // 131,072 slots (1 MB) from the start until 2026-12-06, mapped unpopulated: the decodes of
  // a short process write to slots all over it, a page fault on each page they land in
  // (docs/performance-history.md, "Interpreter on cold code"). The tier's maximum was
  // 16,384 until the tier ran the engine's loop: a head that lost its index slot was decoded
  // again, its count lost, and the index path's entry loads were the tier's loop's main stall
  // (bash_script in the tier alone went from 1.58 to 1.50 s CPU, for 1.5 MB more peak RSS in
  // python3 -c pass).
  static constexpr size_t kIndexStart = 1 << 11;
  static constexpr size_t kIndexMax = 1 << 17;
  // The jit's interpreter tier's pool is smaller (65,536 entries, 8.4 MB at most: with 131,072
  // a python3 -c pass under the jit peaked at 37.7 MiB, above qemu-x86_64's 37.1, and at
  // 30.3 MiB with 65,536, in the same time). Less the memo's templates' 512 KB, as above
  // (cc1: 1,216,000 -> 1,248,000 decode misses, peak RSS as before the templates). 40,960
  // entries (5 MB) since 2026-12-07: cc1 and python3 -c pass peak 3 MiB lower, in the same
  // CPU: their ~15-18% more decode misses are mostly the memo's copies (~0.1 us each), and the
  // more frequent wraps restart more head counts, so ~3-4% fewer blocks are translated (cc1
  // 27,978 -> 27,120, python 7,296 -> 7,020), which pays for them (docs/performance-history.md,
  // "Cold code, decode pool and fetch"). Not below kTemplatesAt: the memo would never turn
  // into templates (28,672 entries: cc1 5 MiB lower but its Zydis calls as before the
  // templates, and slower in 5 of 6 pairs).
  static constexpr size_t kTierPoolSize = (1 << 15) + (1 << 13);
  // The tier's pool grows (grow_pool: doubles, capped at kTierPoolMax entries) in a program that keeps
  // wrapping it: the kGrowAfterWraps-th time it is full at one size (after 5 wraps) it goes on
  // into the entries after its end instead of overwriting its oldest. (All kTierPoolMax
  // entries are mapped at the start, MAP_NORESERVE and untouched: growing moves no entry, so
  // no pointer into the pool changes, and a forked child shares nothing more.) cc1 under the
  // jit wraps 40,960 entries 36 times; python's start-up and python_dict 4 times, sqlite,
  // codegen and cold_funcs once or twice: only cc1 grows (after 245,760 decodes: 1.49 -> 1.14
  // M decode misses, 36 -> 16 wraps, ~8% less CPU, +6 MiB peak RSS). Up to 163,840 or 258,048
  // entries it was no faster (0.98 and 0.93 M misses, but more blocks translated) for 11 and
  // 26 MiB more; python's start-up grown at its 2nd wrap was level, 5 MiB higher
  // (docs/performance-history.md, "The tier's decode pool grows"). 65,536 entries (1.6 times) since
  // helper/rss: cc1 level in CPU against 81,920 (9 of 18 pairs lower; decode misses 1.14 ->
  // 1.23 M, 350 fewer blocks translated), 2.1 MiB lower peak RSS (docs/performance-history.md, "Peak
  // RSS: a real qemu peer for gcc_compile").
  static constexpr size_t kTierPoolMax = kTierPoolSize + (1 << 14) + (1 << 13);
  static constexpr uint32_t kGrowAfterWraps = 6;
  // (8,192: hello world's 5,300 misses keep the small index; the dynamic programs a shell
  // script execs, their loader and libc start-up, grow it early.)
  static constexpr uint64_t kGrowAfterMisses = 8192;

  template <bool tier>
  StopReason enter(CpuState& cpu);
  template <bool plain, bool tier>
  StopReason loop(CpuState& cpu);
  template <bool plain>
  StopReason step(CpuState& cpu, const Insn* in);  // (loop's: one fetched instruction run)
  template <bool plain>
  StopReason before_fetch(CpuState& cpu);  // (loop's: the stops before an instruction)
  bool tier_head(CpuState& cpu, const Insn* in);  // true: stop before this head
  const Insn* fetch(CpuState& cpu);  // inline fast path in loop()
  const Insn* fetch_slow(CpuState& cpu, CacheEntry* e);
  // Asks the host's caches for what the fetch after a decode at `rip` will load (fetch_slow:
  // `buf` holds the `got` bytes it read at rip, then zeros up to 32).
  void prefetch_ahead(const Insn& in, uint64_t rip, const uint8_t* buf, size_t got) const;
  bool executable(uint64_t addr) const;
  bool executable_slow(uint64_t addr) const;  // (executable's, for another page than the last)
  mutable uint64_t exec_page_ = ~uint64_t(0);        // executable() found this page executable
  mutable uint64_t exec_generation_ = ~uint64_t(0);  // at this generation of the address space
  StopReason fault_stop(CpuState& cpu, int how);
  StopReason run_system(CpuState& cpu);  // interp/system/run_loop.cpp
  void print_system_stats(std::FILE* out, double seconds) const;

  Decoder decoder_;
  Exec x_;
  GuestFaultScope scope_;
  // Both are mapped zero-filled (MAP_NORESERVE) and touched only where entries land, so that a
  // thread's engine costs memory in proportion to the code it runs (guest threads each have one).
  struct Unmap {
    Unmap() : bytes(0) {}
    explicit Unmap(size_t b) : bytes(b) {}
    size_t bytes;
    void operator()(void* p) const;
  };
  template <class T>
  // n zero-filled T; `huge`: the first that many on transparent huge pages (map_zeroed_huge)
  static std::unique_ptr<T[], Unmap> map_array(size_t n, bool populate, size_t huge = 0);
  // Each slot: an entry's address, and in its top 16 bits (free in a user-space pointer) a tag
  // of the rip it was stored for (tag_of). A slot that belongs to another rip, a conflict, is
  // told apart without loading its entry: the tier's index path ends in a decode on most of its
  // loads (python3 -c pass: 155,000 of 203,000; cc1: 960,000 of 1.2 million), and loading the
  // other rip's entry, a random 128 bytes of an 8 MB pool, was the tier loop's largest stall
  // (issue 22, docs/performance-history.md, "Cold code of big programs").
  std::unique_ptr<uint64_t[], Unmap> index_;
  size_t index_mask_ = kIndexStart - 1;
  size_t pool_size_ = kPoolSize;  // (before pool_: its size, where it wraps)
  size_t pool_max_ = kPoolSize;   // (before pool_: the entries mapped, what pool_size_ may grow to)
  std::unique_ptr<CacheEntry[], Unmap> pool_;
  CacheEntry* pool_end_ = nullptr;  // past the last entry ever written (pool_ + pool_size_ once it wrapped)
  size_t pool_next_ = 0;            // the entry the next decode overwrites
  CacheEntry* inherited_end_ = nullptr;  // mark_inherited's pool_end_ (null once the pool wraps)
  CacheEntry* last_ = nullptr;  // the entry fetched last (a hint: always checked)
  // The entry fetched before the head the last tier run stopped at (the branch or call that
  // led there), made last_ at the next run's start: the jit ran that head's translated code,
  // which most often comes back to the instruction after the call that entered it (a cold
  // function calling a hot one). Its next entry in the pool is then the fetch's first guess,
  // where the head's own entry sent the run's first fetch to the index (a slot and an entry
  // out of the host's caches: cc1 runs the tier 859,000 times). A hint, checked as last_ is.
  CacheEntry* tier_resume_ = nullptr;
  // The young forked child's own decodes (fetch_slow): looked up after the index, on the slow
  // path. Tagged pointers like the index's; allocated at the child's first decode (32 KB).
  std::unique_ptr<uint64_t[], Unmap> own_index_;
  static constexpr size_t kOwnIndexSize = 1 << 12;
  size_t own_slot(uint64_t rip) const { return (rip ^ (rip >> 17)) & (kOwnIndexSize - 1); }
  CacheEntry* own_indexed(uint64_t rip) const {
    const uint64_t s = own_index_[own_slot(rip)];
    return (s & ~kIndexPointer) == tag_of(rip) ? reinterpret_cast<CacheEntry*>(s & kIndexPointer) : nullptr;
  }
  // A young forked child is running (TierRun::keep_inherited, with entries still inherited): its
  // decodes go to own_index_, not to the shared index and memo (allocate).
  bool young_child() const { return tier_ && tier_->keep_inherited && tier_->own_decodes && inherited_end_; }
  // Remembers `e` as the successor of `prev` (the entry fetched before it) other than the next
  // entry. Not stored again when it is there already: a hint found by the fetch is the common
  // case, and the store dirtied the entry's cache line for nothing. Nor into an entry a forked
  // child inherited (below inherited_end_): those pool pages are its parent's, copy-on-write,
  // and each such store copied a 4 KiB page (bash_script under the jit: 26,000 of its 136,000
  // page faults; a shell's child took ~130 page copies before its execve). The child finds an
  // inherited entry's other successors through the index instead.
  void link(CacheEntry* prev, CacheEntry* e) {
    if (prev && e != prev + 1 && prev->next != e && prev >= inherited_end_) prev->next = e;
  }
  uint64_t grow_at_misses_ = 0;  // 0: the index does not grow (it is kIndexMax slots)
  bool tier_pool_ = false;  // the jit's tier's (stats: its wraps restart the head counts)
  uint64_t pool_wraps_ = 0;
  uint32_t wraps_at_size_ = 0;  // times the pool was full since it last grew (grow_pool)
  uint32_t pool_growths_ = 0;
  // The pool, full, goes on into the entries after its end instead of wrapping (true), or not.
  bool grow_pool();
  static size_t pool_mapped(size_t cache_entries, size_t pool_entries, size_t pool_max);
  // What a head count is valid in: moves on at each wrap of the pool and when a kept cache is
  // reused after an execve; a due head stays due past a wrap, not past an execve (image_epoch_:
  // the first epoch of this image).
  uint32_t epoch_ = 0;
  uint32_t image_epoch_ = 0;
  void grow_index(size_t to = 0);
  // The interp engine's pool (kPoolSize entries) holds more than kIndexMax: once kBigIndexAt
  // of its entries are in use (big_index_at_; null: not again) the index grows to kIndexBig
  // slots (4 MB, populated), where a big program's cold code lost its slots to conflicts (cc1
  // under the interp engine: 201,000 of its 890,000 decodes were of instructions still in the
  // pool). Not at kIndexMax entries: python's start-up (146,000) would pay 3.5 MiB of peak RSS
  // for a few thousand decodes, and python_dict's would come within 0.4 MiB of qemu-x86_64's.
  static constexpr size_t kIndexBig = 1 << 19;
  static constexpr size_t kBigIndexAt = kIndexMax + kIndexMax / 2;
  CacheEntry* big_index_at_ = nullptr;
  CacheEntry* allocate_entry();
  // The pool's head, prefaulted kPoolChunk bytes at a time (populate_pool_head) up to
  // `populated_`: the next is due when entry `populate_at_` is allocated (SIZE_MAX: no more).
  size_t populated_ = 0;
  size_t populate_at_ = SIZE_MAX;
  void populate_pool_head();
  void start_populating();
  size_t slot_of(uint64_t rip) const { return (rip ^ (rip >> 17)) & index_mask_; }
  static constexpr uint64_t kIndexPointer = (uint64_t(1) << 48) - 1;
  static uint64_t tag_of(uint64_t rip) { return (rip & 0xFFFF) << 48; }
  // The entry the index holds for `rip`, or null when its slot is empty or holds another rip's
  // tag. (An entry is still checked by its rip: it may have been overwritten since, or have a
  // rip with the same tag.)
  CacheEntry* indexed(uint64_t rip) const {
    const uint64_t s = index_[slot_of(rip)];
    return (s & ~kIndexPointer) == tag_of(rip) ? reinterpret_cast<CacheEntry*>(s & kIndexPointer) : nullptr;
  }
  void set_indexed(uint64_t rip, const CacheEntry* e) {
    index_[slot_of(rip)] = tag_of(rip) | reinterpret_cast<uintptr_t>(e);
  }
  // The decode memo. An instruction's decode depends on its shape alone (its bytes before the
  // displacement and immediates: cpu/decode_template.h), but for those values and the
  // operands computed from its address, and programs repeat the same shapes at many addresses
  // with other values (every `call rel32`, every `mov reg, [rbp+d]`). A miss first looks for
  // an entry decoded from the same shape and copies it (the values read from the new bytes)
  // instead of calling Zydis: ~150-400 host cycles against ~650-1,300 (issue 22). (Until
  // 2026-12-06 the memo was keyed on the whole bytes: python's start-up under the jit copied
  // 85,000 of its 155,000 decodes.)
  // It is found by a hash of its shape's bytes. The shape's length is not known before
  // decoding: cpu/shape_length.h guesses it from the prefixes, opcode and ModRM (one probe;
  // probing each possible length, 4, 3, 2 and 1 bytes hashed, was four slot loads, half of
  // `memo_find`'s time), and a candidate is used only if its own shape is that long and its
  // bytes are these bytes' first. Two to a bucket, the newest first.
  //
  // Two forms. First the memo holds tagged pointers into the pool, like the index's: hints,
  // checked against the entry's bytes, lost when the entry is overwritten (4,096 slots,
  // 32 KB; 16,384 once the index grows), while the pool is small and in the host's caches.
  // Then it holds templates itself (templates_: copies of the decodes Zydis made): following a
  // pointer into an 8-32 MB pool was a second dependent cache miss after the slot's (cc1
  // under the jit: `memo_find` 7% of its CPU, half of it on the entry), where a template is
  // one load, and it is not lost when the pool overwrites its source. They start once this
  // process image decoded kTemplatesAt entries of its own (a pool past the host's L2; a
  // shell's children keep the pointers and their 32 KB). (Templates from the start held fewer
  // shapes in the same 32 KB: hello world called Zydis 860 more times.)
  std::unique_ptr<uint64_t[], Unmap> memo_;
  static constexpr size_t kMemoStart = 1 << 12;
  static constexpr size_t kMemoMax = 1 << 14;
  size_t memo_mask_ = kMemoStart - 1;
  struct alignas(64) MemoSlot {
    Insn insn;  // shape_len 0: empty
  };
  static_assert(sizeof(MemoSlot) == 128);
  // 4,096 templates, 512 KB: cc1 copies 1,076,000 of its 1,216,000 decodes (8,192: 1,133,000
  // for 0.7 MB more peak RSS; 16,384: 1,169,000, 2 MB more).
  std::unique_ptr<MemoSlot[], Unmap> templates_;
  static constexpr size_t kTemplateSlots = 1 << 12;
  static constexpr size_t kTemplatesAt = 1 << 15;
  uint64_t memo_hits_ = 0;
  uint64_t known_hits_ = 0;
  // The hash of the `shape` bytes of the 16 at w0, w1 (little endian).
  static uint64_t memo_hash(uint64_t w0, uint64_t w1, unsigned shape);
  static size_t memo_bucket(uint64_t h, size_t mask) { return (h >> 20) & mask & ~size_t(1); }
  static uint64_t memo_tag(uint64_t h) { return h & ~kIndexPointer; }
  // The memo's key of the bytes at a miss: their shape's guessed length and its hash.
  struct MemoKey {
    unsigned shape = 0;  // 0: none (more than the bytes read)
    uint64_t hash = 0;
  };
  // A decode of the same shape as the bytes at `buf` (`got` of them readable), or null; `key`
  // is set to the key it looked up.
  const Insn* memo_find(const uint8_t* buf, size_t got, MemoKey& key) const;
  // A known shape (interp/known_shapes.h) for memo_find's key, at most `got` bytes long.
  static const Insn* find_known_shape(const uint8_t* buf, size_t got, const MemoKey& key);
  // Remembers `e`'s decode, just made (by Zydis, or copied: the pointer form keeps the newest);
  // `key`: memo_find's for its bytes (its hash is e's when the shapes agree).
  void memo_note(const CacheEntry* e, bool copied, MemoKey key);
  void note_template(const Insn& in);
  void start_templates();  // (fetch_slow, at kTemplatesAt entries)
  // Which guest pages may have entries in the cache, hashed (page mod kCodePageBits): a set
  // bit only means "maybe". invalidate() walks the pool only when its range touches a set bit;
  // most invalidations (mprotect of RELRO and data, munmap of buffers, every guest mmap over
  // an old range) are of pages that never held code (issue 22).
  static constexpr size_t kCodePageBits = 1 << 16;
  uint64_t code_pages_[kCodePageBits / 64] = {};
  void note_code_page(uint64_t page) {
    code_pages_[(page / 64) % (kCodePageBits / 64)] |= uint64_t(1) << (page % 64);
    if (page - code_run_.first >= code_run_.second - code_run_.first) note_code_run(page);
  }
  // The same pages exactly, as runs [first, second) of page numbers in address order (few:
  // a program's text, its loader's, the vDSO), and the run noted last: an in-place execve
  // reuses the decodes only if every run is executable in the new image (kept_decodes.cpp).
  std::vector<std::pair<uint64_t, uint64_t>> code_runs_;
  std::pair<uint64_t, uint64_t> code_run_{0, 0};
  void note_code_run(uint64_t page);
  bool may_hold_code(uint64_t addr, uint64_t len) const;
  uint64_t limit_ = 0;
  bool stop_at_branch_ = false;
  TierRun* tier_ = nullptr;  // run_tier's, while it runs
  // The common head of a tier run, counted in the loop without a call (tier_counts): an entry
  // counted in this epoch, whose count then stays below N, that this run may store into, when
  // the run has no reason to stop. Set by run_tier from its TierRun; anything else (a head
  // seen for the first time that must ask the translation cache, a due one, a count from
  // another epoch, an inherited entry, the run's restarted first head) goes to tier_head.
  // Counted once per block entry, it was a call and ~10 tests per head: busybox true enters
  // 4,200 heads in its 33,000 instructions, cc1 2.1 million.
  struct TierFast {
    uint32_t from = 0;       // the least count counted here (1 when a count of 0 must ask)
    uint32_t below = 0;      // counts in [from, from + below) are counted here
    const CacheEntry* store_from = nullptr;  // entries below are inherited: read, not stored
    uint64_t yield_at_insn = ~uint64_t(0);
    const std::atomic<bool>* yield_flag = nullptr;  // never null while a run runs
  } tier_fast_;
  void set_tier_fast();
  template <bool plain>
  StopReason uncounted(CpuState& cpu, uint64_t n);
  inline bool tier_counts(const CpuState& cpu, const Insn* in);
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

// A decode cache between two images of one process (Interpreter::keep_decodes): the pool, its
// index, the memo and the page bitmap, as the old image's engine left them.
struct KeptDecodes {
  std::unique_ptr<uint64_t[], Interpreter::Unmap> index, memo, own_index;
  std::unique_ptr<Interpreter::MemoSlot[], Interpreter::Unmap> templates;
  std::unique_ptr<Interpreter::CacheEntry[], Interpreter::Unmap> pool;
  size_t index_mask = 0, memo_mask = 0, pool_size = 0, pool_max = 0, pool_next = 0;
  uint32_t wraps_at_size = 0, pool_growths = 0;
  bool tier = false;  // the jit's tier's (Interpreter::tier_pool_)
  Interpreter::CacheEntry* pool_end = nullptr;
  Interpreter::CacheEntry* big_index_at = nullptr;
  uint32_t epoch = 0;
  uint64_t code_pages[Interpreter::kCodePageBits / 64];
  std::vector<std::pair<uint64_t, uint64_t>> code_runs;
  // What the old image's executable mappings showed: [start, end), the file (or a name such
  // as "[vdso]") and where its offset 0 would be (start - offset).
  struct Source {
    uint64_t start, end, base;
    std::string name;
    uint64_t dev, inode;
  };
  std::vector<Source> sources;
};

}  // namespace vireo
