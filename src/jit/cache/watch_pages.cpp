#include "jit/cache/watch_pages.h"

#include <sys/mman.h>

namespace vireo::jit {

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
