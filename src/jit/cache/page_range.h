// The keys of a page-keyed map that fall in a guest range.
//
// Ranges handed to the translation cache come from the guest: read(2) into a buffer with a
// length of 2^40, munmap or mprotect of most of the window. Walking such a range a page at a
// time is billions of hash lookups (the jit hung where the kernel, which walks only what is
// mapped, answers at once). Code pages are few, so past the map's size its keys are scanned
// instead: the cost is the smaller of the two.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

namespace vireo::jit {

// Keys k of `map` with first <= k <= last and (k - first) % step == 0, ascending. Keys are
// page numbers (step 1) or page addresses (step 4096).
template <class Map>
std::vector<uint64_t> keys_in_range(const Map& map, uint64_t first, uint64_t last, uint64_t step) {
  std::vector<uint64_t> out;
  if (first > last) return out;
  const uint64_t steps = (last - first) / step;  // (without overflow at the top of the space)
  if (steps <= 2 * uint64_t(map.size()) + 16) {
    for (uint64_t k = first;; k += step) {
      if (map.count(k)) out.push_back(k);
      if (last - k < step) break;
    }
    return out;
  }
  for (const auto& entry : map)
    if (entry.first >= first && entry.first <= last && (entry.first - first) % step == 0)
      out.push_back(entry.first);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace vireo::jit
