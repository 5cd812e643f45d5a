#include "jit/cache/watch_pages.h"

#include <sys/mman.h>

namespace vireo::jit {

void WatchPages::set(const std::vector<Watchpoint>& w, std::vector<uint64_t>& changed) {
  std::unordered_map<uint64_t, uint8_t> need;
  for (const Watchpoint& p : w) {
    if (p.len == 0) continue;
    const uint8_t how = p.kind == WatchKind::Write ? kWrite : kRead | kWrite;
    for (uint64_t page = p.addr & ~uint64_t(4095); page <= ((p.addr + p.len - 1) & ~uint64_t(4095)); page += 4096) {
      need[page] |= how;
      if (page + 4096 == 0) break;
    }
  }
  for (auto& [page, how] : need_)
    if (auto it = need.find(page); it == need.end() || it->second != how) changed.push_back(page);
  for (auto& [page, how] : need)
    if (!need_.count(page)) changed.push_back(page);
  need_ = std::move(need);
}

int WatchPages::mask(uint64_t page, int prot) const {
  auto it = need_.find(page);
  if (it == need_.end() || lifted_.count(page)) return prot;
  if (it->second & kRead) return PROT_NONE;
  return prot & ~PROT_WRITE;
}

void WatchPages::lower(uint64_t page) {
  auto it = lifted_.find(page);
  if (it != lifted_.end() && --it->second == 0) lifted_.erase(it);
}

std::vector<uint64_t> WatchPages::pages_in(uint64_t addr, uint64_t len) const {
  std::vector<uint64_t> out;
  if (len == 0) return out;
  const uint64_t first = addr & ~uint64_t(4095), last = (addr + len - 1) & ~uint64_t(4095);
  // (the watched pages are few; the range may be a whole munmap)
  for (auto& [page, how] : need_)
    if (page >= first && page <= last) out.push_back(page);
  return out;
}

}  // namespace vireo::jit
