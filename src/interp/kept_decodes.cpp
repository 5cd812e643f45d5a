// The decode cache kept across an in-place execve (issue 22).
//
// A shell's child that execs a program was forked from a process that has decoded much of what
// the program runs first: the same static binary (busybox sh execs busybox applets), the same
// dynamic loader at the same address (bash execs `tr`, `wc`, `seq`), the same libc start-up.
// Decoding it again was a third to a half of each exec's CPU time (an exec'd busybox true:
// 4,900 decodes, ~0.8 ms). So the old image's engine hands its decode pool to the new image's
// instead of dropping it (Process::exec_in_place), and the new one keeps what it can trust:
//
//  - every use of an entry is already checked against the guest's bytes at its address
//    (Interpreter::fetch), so an entry whose address now holds other code is a miss, never a
//    wrong instruction;
//  - what the fetch does not check on a hit is that the page is executable: in one image,
//    every change that takes execute permission away (munmap, mprotect, a fixed mmap) drops
//    the entries of its range (Engine::invalidate). Across the execve there was no such call,
//    so the cache is reused only if every page the old image decoded from (the exact runs of
//    Interpreter::code_runs_) is executable in the new image as loaded (its program,
//    interpreter, stack and vDSO mapped); from then on the usual invalidations keep that
//    true. That holds when a program execs itself or another applet of the same static binary
//    (busybox), and when the new program's code covers the old one's; otherwise the cache is
//    dropped as before. It is also dropped unless every one of those pages shows the same
//    file (or the vDSO) at the same offset in both images: the bytes would differ elsewhere,
//    and a decode cache full of another program's entries costs more than an empty one (each
//    new entry written to a pool page shared with the parent is a copy-on-write fault: a
//    static `true` exec'd by another static program was ~0.3 ms slower with it). (Dropping the entries of pages that are not executable instead cost
//    a walk of the whole pool, ~10 ns an entry, and a copy-on-write fault per pool page
//    written in a forked child: for a bash child exec'ing `tr`, where bash's own text and
//    libc are not executable in the new image, more than the decodes it saved.)
//  - the jit's head counts and due heads belong to the old image's translations, which are
//    gone: the epoch moves on, so that they read as 0, and the kept entries are inherited
//    (TierRun::keep_inherited: a forked shell's pool pages are shared copy-on-write with the
//    shell, and storing counts there would copy them page by page).
#include <sys/mman.h>

#include <algorithm>
#include <iterator>
#include <cstring>
#include <vector>

#include "interp/interpreter.h"
#include "mem/address_space.h"

namespace vireo {

namespace {
// One process, one thread at an in-place execve (Process::exec_in_place_blocker): no lock.
std::shared_ptr<KeptDecodes> g_offered;

std::vector<KeptDecodes::Source> executable_sources(const AddressSpace& space) {
  std::vector<KeptDecodes::Source> v;
  for (const AddressSpace::Mapping& m : space.mappings())
    if (m.prot & PROT_EXEC)
      v.push_back({m.start, m.end, m.start - m.origin.offset, m.origin.name, m.origin.dev, m.origin.inode});
  return v;
}
}  // namespace

void offer_kept_decodes(std::shared_ptr<KeptDecodes> kept) { g_offered = std::move(kept); }

std::shared_ptr<KeptDecodes> Interpreter::take_kept(const GuestMemory& mem, size_t pool_max, bool tier) {
  if (!g_offered || g_offered->pool_max != pool_max || g_offered->tier != tier || !mem.space) return nullptr;
  std::shared_ptr<KeptDecodes> k = std::exchange(g_offered, nullptr);
  // The executable runs of the new image, in address order, neighbours joined.
  std::vector<std::pair<uint64_t, uint64_t>> exec;
  for (const AddressSpace::Mapping& m : mem.space->mappings())
    if (m.prot & PROT_EXEC) {
      const uint64_t first = m.start >> 12, end = (m.end + 4095) >> 12;
      if (!exec.empty() && exec.back().second == first) exec.back().second = end;
      else exec.emplace_back(first, end);
    }
  // Every code run inside one executable run (both sorted: one pass).
  size_t at = 0;
  for (auto [first, end] : k->code_runs) {
    while (at < exec.size() && exec[at].second <= first) ++at;
    if (at == exec.size() || exec[at].first > first || exec[at].second < end) return nullptr;
  }
  // ... showing what the old image's showed there (see above: not needed to be exact, but to
  // be worth it).
  const std::vector<KeptDecodes::Source> now = executable_sources(*mem.space);
  auto covering = [](const std::vector<KeptDecodes::Source>& v, uint64_t a) -> const KeptDecodes::Source* {
    auto it = std::upper_bound(v.begin(), v.end(), a, [](uint64_t x, const KeptDecodes::Source& m) { return x < m.start; });
    return it != v.begin() && a < std::prev(it)->end ? &*std::prev(it) : nullptr;
  };
  for (auto [first, end] : k->code_runs) {
    for (uint64_t a = first << 12; a < end << 12;) {
      const KeptDecodes::Source* o = covering(k->sources, a);
      const KeptDecodes::Source* n = covering(now, a);
      if (!o || !n || o->base != n->base || o->dev != n->dev || o->inode != n->inode || o->name != n->name ||
          (o->name.empty() && !o->inode))  // (anonymous memory: nothing says what it held)
        return nullptr;
      a = std::min(o->end, n->end);
    }
  }
  return k;
}

std::shared_ptr<KeptDecodes> Interpreter::keep_decodes() {
  if (sys_ || !x_.mem.space || !pool_ || debug_) return nullptr;
  auto k = std::make_shared<KeptDecodes>();
  k->pool_size = pool_size_;
  k->pool_max = pool_max_;
  k->wraps_at_size = wraps_at_size_;
  k->pool_growths = pool_growths_;
  k->tier = tier_pool_;
  k->pool_next = pool_next_;
  k->pool_end = pool_end_;
  k->big_index_at = big_index_at_;
  k->index_mask = index_mask_;
  k->memo_mask = memo_mask_;
  k->epoch = epoch_;
  std::memcpy(k->code_pages, code_pages_, sizeof code_pages_);
  k->code_runs = std::move(code_runs_);
  k->sources = executable_sources(*x_.mem.space);
  k->index = std::move(index_);
  k->memo = std::move(memo_);
  k->templates = std::move(templates_);
  k->pool = std::move(pool_);
  k->own_index = std::move(own_index_);
  // (this engine is only destroyed now; an invalidate() on the way finds an empty pool)
  pool_end_ = nullptr;
  pool_next_ = 0;
  last_ = nullptr;
  return k;
}

void Interpreter::reuse_kept(KeptDecodes& k) {
  pool_next_ = k.pool_next;
  wraps_at_size_ = k.wraps_at_size;
  pool_growths_ = k.pool_growths;
  pool_end_ = k.pool_end;
  big_index_at_ = k.big_index_at;
  memo_mask_ = k.memo_mask;
  std::memcpy(code_pages_, k.code_pages, sizeof code_pages_);
  code_runs_ = std::move(k.code_runs);
  // A young forked child's own index goes on with its decodes: the new image, inheriting them
  // all, is a young child too (the jit's), and mapped a 32 KB index of its own again, ~11 µs
  // populated (busybox sh's `busybox true`: one for its fork, one for its image). Its slots
  // are hints like the index's, checked at each use (fetch_slow).
  own_index_ = std::move(k.own_index);
  epoch_ = k.epoch + 1;
  image_epoch_ = epoch_;
  reused_ = true;
  mark_inherited();
}

// Code pages as runs of page numbers, sorted, neighbours joined (note_code_page found `page`
// outside the run it noted last).
void Interpreter::note_code_run(uint64_t page) {
  auto it = std::upper_bound(code_runs_.begin(), code_runs_.end(), std::make_pair(page, ~uint64_t(0)));
  if (it != code_runs_.begin() && std::prev(it)->second >= page) {  // in the run before, or just past it
    auto run = std::prev(it);
    if (run->second == page) {
      run->second = page + 1;
      if (it != code_runs_.end() && it->first == page + 1) {
        run->second = it->second;
        code_runs_.erase(it);
      }
    }
    code_run_ = *run;
    return;
  }
  if (it != code_runs_.end() && it->first == page + 1) {
    it->first = page;
  } else {
    it = code_runs_.insert(it, {page, page + 1});
  }
  code_run_ = *it;
}

}  // namespace vireo
