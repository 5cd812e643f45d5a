#include "jit/cache/code_cache.h"
#include "jit/cache/page_range.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <new>
#include <stdexcept>

namespace vireo::jit {

namespace {

// The mapping of the last cache destroyed, for the next one (a pointer to its start; its size
// is in its note). An atomic, not a lock: a guest fork may happen while another thread's
// engine is made or dropped, and the child must not find a lock held.
std::atomic<uint8_t*> g_spare{nullptr};

size_t spare_size(const uint8_t* map) {
  size_t n;
  std::memcpy(&n, map + CodeCache::kTrampolineCodeBytes, sizeof n);
  return n;
}

// Blocks left allocated at destruction (mark_inherited), in this process and its ancestors
// (the memory is inherited at fork, so is the count).
std::atomic<size_t> g_abandoned{0};

// Ends x's life without its destructor and makes it empty again: what it owns stays
// allocated and is never written.
template <class T>
void abandon(T& x) {
  ::new (static_cast<void*>(&x)) T();
}

}  // namespace

size_t CodeCache::abandoned_blocks() { return g_abandoned.load(std::memory_order_relaxed); }

void CodeCache::drop_blocks() {
  size_t inherited = 0;
  if (inherited_end_ && inserted_since_fork_ == 0)
    inherited = count_;
  else if (inherited_end_)
    for (const BlockSlot& s : table_) inherited += s.block && s.block->code < inherited_end_;
  const size_t before = g_abandoned.load(std::memory_order_relaxed);
  if (inherited && before + inherited <= kAbandonCap) {
    g_abandoned.store(before + inherited, std::memory_order_relaxed);
    if (inserted_since_fork_)
      for (const BlockSlot& s : table_)
        if (s.block && s.block->code >= inherited_end_) delete s.block;  // (this process's own)
    abandon(table_);
    abandon(by_host_);
    abandon(pages_);
    return;
  }
  for (const BlockSlot& s : table_) delete s.block;
}

const void* CodeCache::spare_mapping() { return g_spare.load(std::memory_order_acquire); }

// A lazy cache's filter before map(): no bit set, never written.
alignas(64) static const uint64_t kNoFilter[(size_t(1) << 18) / 64] = {};

CodeCache::CodeCache(size_t size, Mapping when) : size_(size) {
  static_assert(sizeof kNoFilter * 8 == size_t(1) << kFilterLog2);
  filter_ = const_cast<uint64_t*>(kNoFilter);  // (read only until map() points it at the aux)
  if (when == Mapping::Now) map();
}

void CodeCache::map() {
  if (mapped()) return;
  // One mapping for the trampoline page, the aux and the code: blocks reach the trampolines
  // with rel32 jumps, and separate mappings may land anywhere (with threads, each engine has
  // its own).
  uint8_t* region = g_spare.exchange(nullptr, std::memory_order_acq_rel);
  if (region && spare_size(region) != map_bytes()) {
    munmap(region, spare_size(region));
    region = nullptr;
  }
  if (!region) {
    void* p = mmap(nullptr, map_bytes(), PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("cannot allocate the translation cache");
    region = static_cast<uint8_t*>(p);
    const size_t n = map_bytes();  // (in the note: for a later reuse)
    std::memcpy(region + kTrampolineCodeBytes, &n, sizeof n);
  }
  trampolines_ = region;
  aux_ = region + kTrampolineBytes;
  base_ = cursor_ = region + kTrampolineBytes + kAuxMapBytes;
  jump_cache_ = static_cast<JumpCacheEntry*>(aux_);
  filter_ = reinterpret_cast<uint64_t*>(jump_cache_ + kUserJumpCacheSize);
  jump_cache_[0].guest_pc = empty_jump_tag(0);  // (every other slot's empty tag is 0)
}

CodeCache::~CodeCache() {
  drop_blocks();
  if (!mapped()) return;
  // Kept for the next cache: its aux and the code written so far become zero pages again (no
  // stale jump cache entry or code survives; an untouched page costs nothing), the
  // trampoline page stays as it is.
  uint8_t* expected = nullptr;
  const uint8_t* written = std::max(cursor_, high_water_);
  if (madvise(aux_, kAuxMapBytes + size_t(written - base_), MADV_DONTNEED) == 0 &&
      g_spare.compare_exchange_strong(expected, trampolines_, std::memory_order_acq_rel))
    return;
  munmap(trampolines_, map_bytes());
}

void CodeCache::reset_aux() {
  if (!mapped()) return;  // (nothing written: a lazy cache's filter is the shared zeros)
  // (zero pages again; a failure leaves the pages as they were, so clear them by hand)
  if (madvise(aux_, kAuxBytes, MADV_DONTNEED) != 0) std::memset(aux_, 0, kAuxBytes);
  jump_cache_[0].guest_pc = empty_jump_tag(0);
}

void CodeCache::insert(std::unique_ptr<TranslatedBlock> owned) {
  TranslatedBlock* b = owned.release();
  ++inserted_since_fork_;
  for (uint64_t page : b->guest_pages()) {
    // (blocks translated one after another are mostly on one page: its list is remembered
    // instead of hashed for again; the map's nodes do not move while they exist)
    if (page != last_page_) last_page_blocks_ = &pages_[page], last_page_ = page;
    last_page_blocks_->push_back(b);
  }
  const uintptr_t at = uintptr_t(b->code);
  if (by_host_.empty() || by_host_.back().first < at)
    by_host_.emplace_back(at, b);  // (always, but for code placed below the cursor)
  else
    by_host_.insert(std::upper_bound(by_host_.begin(), by_host_.end(), std::pair{at, b},
                                     [](auto& x, auto& y) { return x.first < y.first; }),
                    {at, b});
  const uint64_t pc = b->guest_pc;
  const size_t bit = filter_bit(pc);
  filter_[bit / 64] |= uint64_t(1) << (bit % 64);
  if ((count_ + 1) * 2 > table_.size()) grow_table();
  const size_t mask = table_.size() - 1;
  size_t i = home(pc);
  while (table_[i].block && table_[i].pc != pc) i = (i + 1) & mask;
  if (table_[i].block) {
    // A block for this pc already (not asked for by the engines: they look up first): the
    // new one replaces it, as the map did.
    TranslatedBlock* old = table_[i].block;
    table_[i].block = b;
    for (auto& e : by_host_)
      if (e.second == old) e.second = nullptr, ++by_host_dead_;
    delete old;
    return;
  }
  table_[i] = {pc, b};
  ++count_;
}

void CodeCache::grow_table() {
  std::vector<BlockSlot> old = std::move(table_);
  // (64 slots to start: a short process translates a few blocks, and a 1,024-slot table was
  // 16 KB to clear, 4 page faults, at each process's first translation)
  size_t size = std::max<size_t>(64, old.size() * 2);
  table_.assign(size, BlockSlot{0, nullptr});
  table_shift_ = 64 - unsigned(std::countr_zero(size));
  const size_t mask = size - 1;
  for (const BlockSlot& s : old) {
    if (!s.block) continue;
    size_t i = home(s.pc);
    while (table_[i].block) i = (i + 1) & mask;
    table_[i] = s;
  }
}

// Backward-shift deletion (Knuth 6.4, algorithm R): the entries after the hole that would be
// unreachable from their home slot move back into it.
void CodeCache::erase_block(TranslatedBlock* b) {
  const size_t mask = table_.size() - 1;
  size_t i = home(b->guest_pc);
  while (table_[i].block != b) {
    if (!table_[i].block) return;  // (not in the table: replaced)
    i = (i + 1) & mask;
  }
  for (size_t j = i;;) {
    j = (j + 1) & mask;
    if (!table_[j].block) break;
    const size_t k = home(table_[j].pc);
    // Leave table_[j] if its home lies cyclically in (i, j].
    if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) continue;
    table_[i] = table_[j];
    i = j;
  }
  table_[i] = {0, nullptr};
  --count_;
  auto it = std::lower_bound(by_host_.begin(), by_host_.end(), uintptr_t(b->code),
                             [](auto& e, uintptr_t at) { return e.first < at; });
  if (it != by_host_.end() && it->second == b) {
    it->second = nullptr;
    if (++by_host_dead_ * 2 > by_host_.size()) {
      std::erase_if(by_host_, [](auto& e) { return e.second == nullptr; });
      by_host_dead_ = 0;
    }
  }
  delete b;
}

void CodeCache::patch_jmp(uint8_t* at, const uint8_t* to) {
  int32_t rel = int32_t(to - (at + 5));
  at[0] = 0xE9;
  std::memcpy(at + 1, &rel, 4);
}

void CodeCache::patch_exit(ExitSlot* slot, const uint8_t* to) {
  if (!slot->table_entry()) return patch_jmp(slot->jmp, to);
  __atomic_store_n(slot->entry(), uint64_t(reinterpret_cast<uintptr_t>(to)), __ATOMIC_RELAXED);
}

void CodeCache::link(ExitSlot* slot, TranslatedBlock* to) {
  patch_exit(slot, to->code);
  slot->linked = to;
  to->incoming.push_back(slot);
}

void CodeCache::remove(TranslatedBlock* b) {
  // Unlink every chain that leads into b, and forget b's own outgoing links.
  for (ExitSlot* s : b->incoming) {
    patch_exit(s, s->unlinked);
    s->linked = nullptr;
  }
  for (size_t i = 0; i < b->exit_count(); ++i)
    if (ExitSlot* s = b->exit_at(i); s->linked) s->linked->incoming.erase_value(s);
  for (uint64_t page : b->guest_pages()) {
    auto it = pages_.find(page);
    if (it == pages_.end()) continue;
    std::erase(it->second, b);
    if (it->second.empty()) pages_.erase(it), last_page_ = kNoPage;
  }
  // Its jump cache slot: jump_cache_fill puts a block only under its own guest pc (a scan of
  // every slot per removed block was 7% of codegen, which replaces 20,000 functions).
  const size_t j = jump_cache_index(b->guest_pc, kUserJumpCacheBits);
  if (jump_cache_[j].host == b->code) jump_cache_[j] = {empty_jump_tag(j), nullptr};
  erase_block(b);
}

size_t CodeCache::invalidate(uint64_t addr, uint64_t len) {
  std::vector<TranslatedBlock*> victims;
  if (len == 0) return 0;
  const uint64_t last = addr + len - 1 < addr ? ~uint64_t(0) : addr + len - 1;
  for (uint64_t page : keys_in_range(pages_, addr >> 12, last >> 12, 1)) {
    for (TranslatedBlock* b : pages_.find(page)->second)
      if (b->reads_code(addr, len) &&
          std::find(victims.begin(), victims.end(), b) == victims.end())
        victims.push_back(b);
  }
  for (TranslatedBlock* b : victims) remove(b);
  return victims.size();
}

void CodeCache::flush() {
  for (BlockSlot& s : table_) {
    delete s.block;
    s = {0, nullptr};
  }
  count_ = 0;
  by_host_.clear();
  by_host_dead_ = 0;
  pages_.clear();
  last_page_ = kNoPage;
  reset_aux();
  high_water_ = std::max(high_water_, cursor_);
  cursor_ = base_;
  inherited_end_ = nullptr;  // (all freed above)
}

TranslatedBlock* CodeCache::block_at_host(uint64_t pc) const {
  auto it = std::upper_bound(by_host_.begin(), by_host_.end(), uintptr_t(pc),
                             [](uintptr_t at, auto& e) { return at < e.first; });
  if (it == by_host_.begin()) return nullptr;
  // (a removed block's entry is null: code never overlaps, so pc was in that block or in none)
  TranslatedBlock* b = std::prev(it)->second;
  return b && pc < uint64_t(b->code) + b->code_size ? b : nullptr;
}

}  // namespace vireo::jit
