// The indirect-call sites an engine has stopped guessing (docs/jit.md, "Indirect calls guessed
// at translation time"): a guessed call whose target keeps differing from the guess pays a
// side exit on every call, for good, since nothing else would translate its block again. A
// guard's miss leaves through the dispatcher (kExitGuessMiss), which counts it here; after
// kMissesToDrop misses at a site its block is dropped, and the translation that replaces it
// (call_guess.h's caller, control.cpp) makes that site an ordinary indirect call.
#pragma once

#include <cstdint>
#include <unordered_map>

namespace vireo::jit {

class GuessSites {
 public:
  // Misses at one site before it is no longer guessed. Each is a round trip through the
  // dispatcher (a chained miss was only a side exit and the call's own block), so a site
  // pays for at most this many before it is an ordinary indirect call; one that misses
  // rarely (a second callback once in a while) keeps its guess for a long time.
  static constexpr uint32_t kMissesToDrop = 16;

  // Whether the call at guest pc `site` may be guessed.
  bool guessable(uint64_t site) const { return misses_.empty() || !dropped(site); }
  // A guard at `site` missed: counted, or the block that guessed it is to be dropped, the
  // site now guessed no more (`Dropped`: by this miss; `DroppedBefore`: a block translated
  // before the site was dropped, still guessing it).
  enum class Miss { Counted, Dropped, DroppedBefore };
  Miss missed(uint64_t site);

 private:
  bool dropped(uint64_t site) const {
    auto it = misses_.find(site);
    return it != misses_.end() && it->second >= kMissesToDrop;
  }
  std::unordered_map<uint64_t, uint32_t> misses_;  // site -> misses so far (capped)
};

}  // namespace vireo::jit
