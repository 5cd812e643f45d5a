// GuessSites (guess_sites.h): per-site miss counts of guessed indirect calls.
#include "jit/cache/guess_sites.h"

namespace vireo::jit {

GuessSites::Miss GuessSites::missed(uint64_t site) {
  uint32_t& n = misses_[site];
  if (n >= kMissesToDrop) return Miss::DroppedBefore;
  return ++n < kMissesToDrop ? Miss::Counted : Miss::Dropped;
}

}  // namespace vireo::jit
