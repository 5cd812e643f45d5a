// The decode cache's memory: the pool of decoded instructions and the index into it, how they
// are mapped, populated, grown and overwritten, and the constructors that take them over from
// an in-place execve (KeptDecodes). The lookups that fill it are in interpreter.cpp (fetch,
// fetch_slow); the design is docs/interp.md's "Decode cache".
#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "interp/interpreter.h"
#include "interp/pool_head.h"
#include "interp/system/system_mode.h"

namespace vireo {
namespace {

// A zero-filled mapping of `bytes` (MAP_NORESERVE: touched only where used), populated or not.
void* map_zeroed(size_t bytes, bool populate) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (populate ? MAP_POPULATE : 0), -1, 0);
  if (p == MAP_FAILED) throw std::runtime_error("cannot allocate the interpreter's decode cache");
  return p;
}

// The same, for the decode pool: transparent huge pages where the host allows them
// (`madvise` mode, Debian's default), on 2 MiB boundaries, but for the pool's head: its first
// `head` bytes (set_decode_pool_head, per image: kPoolHead for a static program, 0 for a
// dynamic one) end on a 2 MiB boundary and are on 4 KiB pages, prefaulted a chunk at a time as
// decodes reach them (Interpreter::populate_pool_head). The pool is written from its start,
// one 128-byte entry per instruction first run, and a huge page is cleared whole at its first
// touch (~0.3-0.4 ms of CPU on a host under a nested hypervisor): a program that runs a few
// instructions paid all of it, and hello world's ~5,000 decodes (640 KB) took less CPU in 10
// MADV_POPULATE_WRITE calls of 64 KB. A dynamic program's loader and libc start-up decode
// ~11,000 (1.4 MB), past the head: there the head's 256 pages cost more than the huge page
// they save, so its pool has none (issue 22, docs/performance-history.md, "Start-up, fifteenth
// pass"). A forked child that writes into it copies 4 KiB, not 2 MiB (Linux splits a huge page
// on copy-on-write). Only the first `advised` bytes are asked for huge pages: a pool that may
// grow (the tier's) asks for the rest when it grows (grow_pool); advising its whole mapping
// filled a 2 MiB page where the small pool's end had none (python3 -c pass under the jit: 1
// MiB more peak RSS). (The head's size is not stored: the pool starts that far below a 2 MiB
// boundary, pool_head.)
constexpr size_t kHugePage = size_t(2) << 20;
size_t g_next_pool_head = Interpreter::kPoolHead;

size_t pool_head(const void* pool) { return -reinterpret_cast<uintptr_t>(pool) & (kHugePage - 1); }

void advise_huge(char* pool, size_t from, size_t to) {
  from = std::max(from, pool_head(pool));
  if (to > from) ::madvise(pool + from, to - from, MADV_HUGEPAGE);  // (EINVAL without THP: 4 KiB pages)
}

void* map_zeroed_huge(size_t bytes, size_t advised) {
  const size_t head = g_next_pool_head;
  char* p = static_cast<char*>(map_zeroed(bytes + kHugePage, false));
  const uintptr_t boundary = (reinterpret_cast<uintptr_t>(p) + head + kHugePage - 1) & ~(kHugePage - 1);
  char* a = reinterpret_cast<char*>(boundary - head);
  if (a > p) ::munmap(p, size_t(a - p));
  if (a + bytes < p + bytes + kHugePage) ::munmap(a + bytes, size_t(p + bytes + kHugePage - (a + bytes)));
  advise_huge(a, 0, advised);
  return a;
}

}  // namespace

void set_decode_pool_head(size_t bytes) { g_next_pool_head = bytes & (kHugePage - 1) & ~size_t(4095); }

template <class T>
std::unique_ptr<T[], Interpreter::Unmap> Interpreter::map_array(size_t n, bool populate, size_t huge) {
  void* p = huge ? map_zeroed_huge(sizeof(T) * n, sizeof(T) * huge) : map_zeroed(sizeof(T) * n, populate);
  return std::unique_ptr<T[], Unmap>(static_cast<T*>(p), Unmap{sizeof(T) * n});
}
// (interpreter.cpp maps the memo's tables with it too)
template std::unique_ptr<uint64_t[], Interpreter::Unmap> Interpreter::map_array<uint64_t>(size_t, bool, size_t);
template std::unique_ptr<Interpreter::MemoSlot[], Interpreter::Unmap> Interpreter::map_array<Interpreter::MemoSlot>(
    size_t, bool, size_t);

// The entries the pool is mapped for: what it may grow to.
size_t Interpreter::pool_mapped(size_t cache_entries, size_t pool_entries, size_t pool_max) {
  if (pool_max) return pool_max;
  if (pool_entries) return pool_entries;
  return cache_entries ? kTierPoolMax : kPoolSize;
}

Interpreter::Interpreter(const GuestMemory& mem, size_t cache_entries, size_t pool_entries, size_t pool_max)
    : Interpreter(mem, cache_entries, pool_entries, pool_mapped(cache_entries, pool_entries, pool_max),
                  take_kept(mem, pool_mapped(cache_entries, pool_entries, pool_max), cache_entries != 0)) {}

// (`kept`: an in-place execve's old decode cache, taken over instead of mapping a new one.)
Interpreter::Interpreter(const GuestMemory& mem, size_t cache_entries, size_t pool_entries, size_t pool_max,
                         std::shared_ptr<KeptDecodes> kept)
    : index_(kept ? std::move(kept->index) : map_array<uint64_t>(cache_entries ? cache_entries : kIndexStart, true)),
      index_mask_(kept ? kept->index_mask : (cache_entries ? cache_entries : kIndexStart) - 1),
      pool_size_(kept                ? kept->pool_size
                 : pool_entries      ? pool_entries
                 : cache_entries     ? kTierPoolSize
                                     : kPoolSize),
      pool_max_(std::max(pool_max, pool_size_)),
      pool_(kept ? std::move(kept->pool) : map_array<CacheEntry>(pool_max_, false, pool_size_)),
      pool_end_(pool_.get()),
      grow_at_misses_(index_mask_ + 1 < kIndexMax ? kGrowAfterMisses : 0),
      tier_pool_(cache_entries != 0) {
  // (The index keeps a tag in a pointer's top 16 bits: user-space addresses are below 2^47.)
  if (reinterpret_cast<uintptr_t>(pool_.get() + pool_max_) > kIndexPointer)
    throw std::runtime_error("the decode pool is mapped above 2^48");
  memo_ = kept ? std::move(kept->memo) : map_array<uint64_t>(kMemoStart, true);
  if (kept) templates_ = std::move(kept->templates);
  if (pool_size_ > kBigIndexAt) big_index_at_ = pool_.get() + kBigIndexAt;
  x_.mem = mem;
  x_.scope = &scope_;
  x_.interp = this;
  if (kept) reuse_kept(*kept);  // (constructed with them only if kept_fits)
  start_populating();
  install_host_fault_handlers();
}

Interpreter::~Interpreter() = default;

void Interpreter::Unmap::operator()(void* p) const {
  if (p) ::munmap(p, bytes);
}

// The cold code is more than the index holds: an index 8 times larger, pointing at every entry
// of the pool (each is a decode saved: an exec'd dynamic program grows its index in its loader).
// (`to`: that many slots, for a pool larger than kIndexMax: big_index_at_.) The memo's
// pointers grow with the index's first step, to kMemoMax (unless it holds templates already).
void Interpreter::grow_index(size_t to) {
  const size_t slots = to ? to : std::min(kIndexMax, (index_mask_ + 1) * 8);
  index_ = map_array<uint64_t>(slots, true);
  index_mask_ = slots - 1;
  const bool memo_grows = !templates_ && memo_mask_ + 1 < kMemoMax;
  if (memo_grows) {
    memo_ = map_array<uint64_t>(kMemoMax, true);
    memo_mask_ = kMemoMax - 1;
  }
  for (CacheEntry* e = pool_.get(); e < pool_end_; ++e) {
    if (e->rip == kDeadRip) continue;
    set_indexed(e->rip, e);
    if (memo_grows) memo_note(e, false, MemoKey{});
  }
  if (!to) grow_at_misses_ = slots < kIndexMax ? decode_misses_ + kGrowAfterMisses : 0;
}

// The entry the next decode fills. A full pool is overwritten from its start, oldest entries
// first: nothing needs to forget an old entry, since every pointer into the pool (the index,
// `next` links, last_) is a hint whose target is checked by its rip, and the entry is marked
// dead before it is filled, so that a decode that faults half-way leaves no entry of the old
// rip with the new instruction's fields. (The interp engine's pool used to be emptied at once:
// cc1 then decoded again everything it had run, hot or not; oldest first, it takes the same
// time in half the pool.)
//
// In the jit's tier a wrap also starts every head's count afresh (the counts carry the wrap
// they were counted in: CacheEntry::wrap), as when its pool was emptied at each wrap: code
// that is only lukewarm then counts again instead of reaching N over the whole run.
// Overwriting with the counts kept decoded 17% less on python's start-up but translated 5%
// more blocks and cost 4% more CPU; emptying decoded again the 41,000 instructions of python's
// start-up that were still in the pool after a wrap (docs/performance-history.md, "Decode cache" and
// "Interpreter on cold code").
Interpreter::CacheEntry* Interpreter::allocate_entry() {
  if (pool_next_ == pool_size_ && !grow_pool()) [[unlikely]] {
    pool_next_ = 0;
    ++pool_wraps_;
    ++epoch_;
    inherited_end_ = nullptr;  // (what is decoded from now on is this process's own)
  }
  if (pool_next_ == populate_at_) [[unlikely]]
    populate_pool_head();
  CacheEntry* e = &pool_[pool_next_];
  e->rip = kDeadRip;
  return e;
}

// The next entry is the first that reaches past the prefaulted part of the pool's head
// (map_zeroed_huge): the next kPoolChunk bytes of it are faulted in by one madvise instead of
// a page fault each (16 traps of ~1-2 us each on a host under a nested hypervisor). Where
// MADV_POPULATE_WRITE is unknown (Linux before 5.14) the call fails and the pages fault as
// they are written. (`populated_` starts on a page boundary: start_populating.)
void Interpreter::populate_pool_head() {
  const size_t head = std::min(pool_head(pool_.get()), pool_max_ * sizeof(CacheEntry));
  const size_t to = std::min(populated_ + kPoolChunk, head);
  ::madvise(reinterpret_cast<char*>(pool_.get()) + populated_, to - populated_, MADV_POPULATE_WRITE);
  populated_ = to;
  populate_at_ = to < head ? to / sizeof(CacheEntry) : SIZE_MAX;  // (the entry byte `to` is in)
}

// Where the prefaulting of the pool's head goes on from: its start for a new pool, the page of
// the next entry for a kept one (whose pages up to there are in), nowhere once past the head.
void Interpreter::start_populating() {
  populated_ = pool_next_ * sizeof(CacheEntry) & ~size_t(4095);
  const bool wrapped = pool_end_ != pool_.get() + pool_next_;
  populate_at_ = !wrapped && populated_ < pool_head(pool_.get()) ? pool_next_ : SIZE_MAX;
}

// The pool is full: the kGrowAfterWraps-th time since it last grew (the first ones wrapped),
// while it is below what is mapped, it doubles instead (the next decodes go into the entries
// after its end). Nothing
// moves: every pointer into the pool stays valid, and what was decoded is kept. A program
// whose cold code is more than the pool keeps overwriting and decoding again the code it runs
// (cc1 under the jit: 36 wraps of 40,960 entries, 1.49 M decode misses for ~670,000 distinct
// instructions), and each wrap restarts the head counts, so lukewarm code stays in the tier
// longer; a program that wraps once or not at all (python's start-up, a shell's children)
// keeps the small pool and its peak RSS.
bool Interpreter::grow_pool() {
  if (pool_size_ >= pool_max_ || ++wraps_at_size_ < kGrowAfterWraps) return false;
  wraps_at_size_ = 0;
  ++pool_growths_;
  const size_t old = pool_size_;
  pool_size_ = std::min(pool_size_ * 2, pool_max_);
  // (The new entries' pages on huge pages too: map_zeroed_huge. From the page the old end is in.)
  advise_huge(reinterpret_cast<char*>(pool_.get()), old * sizeof(CacheEntry) & ~size_t(4095), pool_size_ * sizeof(CacheEntry));
  if (pool_size_ > kBigIndexAt && !big_index_at_ && pool_end_ < pool_.get() + kBigIndexAt)
    big_index_at_ = pool_.get() + kBigIndexAt;
  // (pool_next_ is the old size: the next entry is the first of the new ones.) The head counts
  // go on: nothing was overwritten.
  return true;
}

bool Interpreter::may_hold_code(uint64_t addr, uint64_t len) const {
  if (len == 0) return false;
  uint64_t first = addr >> 12, last = (addr + len - 1) >> 12;
  if (last < first || last - first >= kCodePageBits) return true;
  for (uint64_t page = first; page <= last; ++page)
    if (code_pages_[(page / 64) % (kCodePageBits / 64)] & (uint64_t(1) << (page % 64))) return true;
  return false;
}

void Interpreter::invalidate(uint64_t addr, uint64_t len) {
  // The cache validates entries against the bytes in memory on every hit; what invalidation
  // adds is that code made non-executable (mprotect, munmap) is fetched again, and faults.
  if (!may_hold_code(addr, len)) return;
  for (CacheEntry* e = pool_.get(); e < pool_end_; ++e)
    if (e->rip - addr < len) e->rip = kDeadRip;
}

}  // namespace vireo
