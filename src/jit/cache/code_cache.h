// CodeCache: the translation cache. One RWX buffer (16 MiB by default) filled by bump
// allocation, a map (guest pc -> block), a page index for invalidation, the jump cache for
// indirect branches, and chaining (patching block exits into direct jumps).
// When the buffer is full, everything is flushed and translation starts again (QEMU's policy).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "jit/cache/translated_block.h"

namespace vireo::jit {

struct JumpCacheEntry {
  uint64_t guest_pc;
  uint8_t* host;
};

class CodeCache {
 public:
  // Jump caches: guest pc -> host code, direct-mapped, probed inline by translated code's
  // indirect exits (the Indirect terminal). System mode's (SystemJitEngine: two, cleared on
  // CR3 writes) have 2^kJumpCacheBits entries; this cache's own (user mode)
  // 2^kUserJumpCacheBits: 4096 missed 0.7% of sqlite's 110 million indirect branches, each
  // miss a round trip through the dispatcher. Untouched pages cost no memory (reset_aux).
  static constexpr unsigned kJumpCacheBits = 12;
  static constexpr size_t kJumpCacheSize = size_t(1) << kJumpCacheBits;
  static constexpr unsigned kUserJumpCacheBits = 14;
  static constexpr size_t kUserJumpCacheSize = size_t(1) << kUserJumpCacheBits;
  static constexpr size_t kTrampolineBytes = 4096;  // right below the code (make_trampolines)

  // The trampoline page's last kTrampolineNoteBytes are not code (make_trampolines writes at
  // most kTrampolineCodeBytes): they note the mapping's size (at 0), the engine's Trampolines
  // record (at 64, trampolines_note(): a recycled mapping's trampolines are found again
  // without being generated) and whether the trampolines are there (the last byte).
  static constexpr size_t kTrampolineNoteBytes = 256;
  static constexpr size_t kTrampolineCodeBytes = kTrampolineBytes - kTrampolineNoteBytes;
  static constexpr size_t kTrampolineRecordBytes = 128;

  // A cache of `size` bytes. The mapping of a cache destroyed before (an engine dropped at an
  // in-place execve, a thread that ended) is taken again when its size is the same: its code
  // and jump cache are zero again (madvise), its trampoline page is kept. That saves each
  // exec two mmaps, two munmaps and the trampolines' generation (issue 22, "Start-up, seventh
  // pass"). One mapping is kept at most.
  //
  // `Mapping::Lazily` (the user-mode jit): nothing is mapped until map(). Most processes of
  // exec-heavy work (an exec'd `true`, a shell's subshell) translate nothing, and the mapping,
  // the trampolines and the aux page's first store were what the jit engine cost such a
  // process over the interp engine (issue 22, "Start-up, tenth pass"). Until then lookups
  // find nothing (a zero filter), invalidations and flushes have nothing to drop.
  enum class Mapping { Now, Lazily };
  explicit CodeCache(size_t size, Mapping when = Mapping::Now);
  ~CodeCache();
  // Whether the mapping is there (always, but for a lazy cache before map()).
  bool mapped() const { return trampolines_ != nullptr; }
  // Maps the cache (or takes a recycled mapping): before the first block's code is written.
  void map();
  CodeCache(const CodeCache&) = delete;
  CodeCache& operator=(const CodeCache&) = delete;

  // Space for a new block's code: [begin(), end()). commit() takes `used` bytes of it.
  uint8_t* begin() const { return cursor_; }
  // The page for the engine's trampolines, next to the code.
  uint8_t* trampoline_page() const { return trampolines_; }
  // Whether the trampoline page holds make_trampolines' code and its record (set by the
  // engine that generated them; kept with the mapping when it is recycled).
  bool trampolines_ready() const { return *ready_flag() != 0; }
  void set_trampolines_ready() { *ready_flag() = 1; }
  uint8_t* trampolines_note() const { return trampolines_ + kTrampolineCodeBytes + 64; }
  // Maps kept for reuse (tests): the mapping a new cache of `size` bytes would take, or null.
  static const void* spare_mapping();
  uint8_t* end() const { return base_ + size_; }
  size_t free_bytes() const { return size_t(end() - cursor_); }
  void commit(size_t used) { cursor_ += used; }

  TranslatedBlock* lookup(uint64_t pc) const {
    // Most lookups are of cold code with no block (the dispatcher asks at every entry of the
    // interpreter tier): the filter answers those without hashing into blocks_.
    // (a cache with no block yet is not asked its filter: a lazy cache's is a static page of
    // zeros, and every page of it a short process read was a page fault)
    if (table_.empty()) return nullptr;
    const size_t bit = filter_bit(pc);
    if (!(filter_[bit / 64] >> (bit % 64) & 1)) return nullptr;
    const size_t mask = table_.size() - 1;
    for (size_t i = home(pc);; i = (i + 1) & mask) {
      const BlockSlot& s = table_[i];
      if (!s.block) return nullptr;
      if (s.pc == pc) return s.block;
    }
  }
  void insert(std::unique_ptr<TranslatedBlock> b);

  // Drops every block overlapping [addr, addr+len), unlinking chains into them.
  size_t invalidate(uint64_t addr, uint64_t len);
  // Drops everything (full buffer or explicit flush).
  void flush();

  // A forked child's cache: the blocks so far are its parent's, in memory shared copy-on-write
  // with it. Destroyed (the child's in-place execve), the cache leaves them and its indexes
  // allocated instead of freeing them one by one: each free wrote a page of the parent's
  // (slab free lists, malloc's headers), ~60 copy-on-write faults per exec of a shell's child
  // (issue 22, "Start-up, seventh pass"). Memory left so is counted in the process and what
  // it forks (abandoned_blocks()): past kAbandonCap blocks, they are freed again.
  // (Stored only when it changes: in a child that execs at once the write was a page copy of
  // its own, for a parent that translated nothing since its last fork.)
  void mark_inherited() {
    if (inherited_end_ != cursor_) inherited_end_ = cursor_;
    if (inserted_since_fork_) inserted_since_fork_ = 0;
  }
  static constexpr size_t kAbandonCap = 16384;  // (~600 bytes each: ~10 MB at most)
  static size_t abandoned_blocks();

  // Patches `slot` to jump straight to `to`.
  void link(ExitSlot* slot, TranslatedBlock* to);

  // The block whose code contains host address `pc`, or nullptr.
  TranslatedBlock* block_at_host(uint64_t pc) const;

  JumpCacheEntry* jump_cache() { return jump_cache_; }
  // Fibonacci hashing of the pc's low 32 bits (translated code computes the same: `imul ecx,
  // eax, K; shr ecx, 32 - bits`). The earlier `(pc ^ pc >> 12) mod size` is linear: sqlite's
  // memcpy and the code it returns to, 2 MB apart, shared a slot, and evicted each other 400,000
  // times a run.
  static constexpr uint32_t kJumpHashMul = 0x9E3779B1u;
  static size_t jump_cache_index(uint64_t pc, unsigned bits) {
    return size_t((uint32_t(pc) * kJumpHashMul) >> (32 - bits));
  }
  // An empty slot's tag: a pc that never indexes that slot, so no guest pc can hit it (~0,
  // the obvious choice, is a canonical guest pc that indexes slot 0; 0 indexes slot 0, 1 does
  // not: kJumpHashMul's top bit is set).
  static uint64_t empty_jump_tag(size_t slot) { return slot == 0 ? 1 : 0; }
  // (Only ever a block's own guest pc and entry: remove() clears that slot alone.)
  // A slot that holds the block already is not stored again: in a forked child (a shell's
  // subshell) the jump cache's pages are its parent's, copy-on-write, and the dispatcher
  // fills the slot at every entry it serves, so each store was a page copy.
  void jump_cache_fill(uint64_t pc, uint8_t* host) {
    JumpCacheEntry& e = jump_cache_[jump_cache_index(pc, kUserJumpCacheBits)];
    if (e.guest_pc != pc || e.host != host) e = {pc, host};
  }

  size_t block_count() const { return count_; }
  size_t used_bytes() const { return size_t(cursor_ - base_); }
  // Guest pages that hold translated code (for write-protection by the engine).
  const std::unordered_map<uint64_t, std::vector<TranslatedBlock*>>& pages() const { return pages_; }

 private:
  void remove(TranslatedBlock* b);
  void erase_block(TranslatedBlock* b);  // out of table_ and by_host_, destroyed
  void grow_table();
  static void patch_jmp(uint8_t* at, const uint8_t* to);
  // Points an exit (a jmp rel32, or an entry of a table of exits) at `to`.
  static void patch_exit(ExitSlot* slot, const uint8_t* to);

  // A bit per hash of a guest pc with a block (set at insert, cleared only at flush: a stale
  // bit costs a lookup in blocks_, no more). The interpreter tier's cold entries missed in
  // blocks_ (a std::unordered_map) at every block: 4% of an exec-heavy run (issue 22).
  // 2^18 bits (32 KB, eight pages touched only as blocks are inserted): the translator asks
  // at every instruction whether a block starts there (ends_at_translated), and with one
  // page's 2^15 bits cc1's 27,900 blocks had set over half of them, so most of its 260,000
  // questions went on to a cache miss in table_ (3.4% of its translation); now ~10% do.
  static constexpr unsigned kFilterLog2 = 18;
  static size_t filter_bit(uint64_t pc) { return size_t((pc * 0x9E3779B97F4A7C15ull) >> (64 - kFilterLog2)); }
  // The jump cache and the filter share one zero-filled mapping, touched only where entries
  // land (a short process fills a few pages of the jump cache's 256 KB; clearing it at start-up
  // faulted in all of them, every process). reset_aux() zeroes it again.
  void reset_aux();
  static constexpr size_t kAuxBytes = kUserJumpCacheSize * sizeof(JumpCacheEntry) + (size_t(1) << kFilterLog2) / 8;
  // One mapping: [trampoline page | aux (jump cache, filter) | code]. (The aux is executable
  // too: one mapping is one mmap per engine, and one madvise clears aux and code together.)
  static constexpr size_t kAuxMapBytes = (kAuxBytes + 4095) & ~size_t(4095);
  size_t map_bytes() const { return kTrampolineBytes + kAuxMapBytes + size_; }
  // (the note's last byte)
  uint8_t* ready_flag() const { return trampolines_ + kTrampolineBytes - 1; }
  void* aux_ = nullptr;
  JumpCacheEntry* jump_cache_ = nullptr;
  uint64_t* filter_ = nullptr;
  uint8_t* trampolines_ = nullptr;  // (null: not mapped yet)
  uint8_t* base_ = nullptr;
  size_t size_;
  uint8_t* cursor_ = nullptr;
  uint8_t* high_water_ = nullptr;  // the furthest the cursor reached before a flush
  uint8_t* inherited_end_ = nullptr;  // blocks whose code lies below are a fork parent's
  // Blocks inserted since mark_inherited(). None (a shell's child that exec'd without
  // translating): every block in table_ is the parent's, and drop_blocks() need not read each
  // block's record to tell (a cache miss each: 590 records of busybox sh took ~30 us per exec).
  size_t inserted_since_fork_ = 0;
  void drop_blocks();  // (destruction)
  // Guest pc -> block (owned): open addressing, linear probing, at most half full, deletion
  // by backward shift (no tombstones). A translated block's entry through the dispatcher
  // asked a std::unordered_map (a modulo, a bucket, a node: two dependent cache misses),
  // 3-4% of python3 -c pass (issue 22, "Cold code, fourth pass"); a slot is one.
  struct BlockSlot {
    uint64_t pc;
    TranslatedBlock* block;  // null: free
  };
  std::vector<BlockSlot> table_;
  unsigned table_shift_ = 64;
  size_t count_ = 0;
  size_t home(uint64_t pc) const { return size_t((pc * 0x9E3779B97F4A7C15ull) >> table_shift_); }
  std::unordered_map<uint64_t, std::vector<TranslatedBlock*>> pages_;  // guest page -> blocks
  // The last page insert added to, and its list (kNoPage after an erase from pages_).
  static constexpr uint64_t kNoPage = ~uint64_t(0);
  uint64_t last_page_ = kNoPage;
  std::vector<TranslatedBlock*>* last_page_blocks_ = nullptr;
  // Code address -> block, for fault lookups: blocks are bump-allocated, so appending keeps
  // it sorted. A removed block leaves a null entry (compacted once they are half of it); a
  // std::map was a 48-byte node and an allocation per block.
  std::vector<std::pair<uintptr_t, TranslatedBlock*>> by_host_;
  size_t by_host_dead_ = 0;
};

}  // namespace vireo::jit
