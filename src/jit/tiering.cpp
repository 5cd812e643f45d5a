#include "jit/tiering.h"

namespace vireo::jit {

bool Tiering::due(uint64_t pc, uint32_t entries) {
  if (pages_.empty()) return true;
  auto it = pages_.find(pc >> 12);
  if (it == pages_.end() || !it->second.entries_left) return true;
  PageState& p = it->second;
  stats.demoted_entries += entries;
  p.entries_left -= std::min<uint64_t>(entries, p.entries_left);
  if (p.entries_left) return false;
  p.faults = 0;  // promoted again: translated at this entry
  return true;
}

bool Tiering::pays_to_translate(uint64_t pc, uint32_t block_insns) {
  if (!o_.startup_translate_insns || !in_startup()) {
    if (!deferred_.empty()) deferred_.clear();  // (the phase is over: N decides alone)
    return true;
  }
  auto it = deferred_.find(pc);
  const uint64_t rounds = it == deferred_.end() ? 1 : uint64_t(it->second) + 1;
  if (rounds * o_.startup_translate_after * std::max<uint32_t>(1, block_insns) >= o_.startup_translate_insns) {
    if (it != deferred_.end()) deferred_.erase(it);
    return true;
  }
  if (it == deferred_.end()) deferred_.emplace(pc, 1);
  else ++it->second;
  ++stats.startup_deferrals;
  return false;
}

void Tiering::note_code_write(uint64_t addr) {
  PageState& p = pages_[addr >> 12];
  if (p.entries_left || ++p.faults < o_.demote_after_faults) return;
  p.faults = 0;
  p.entries_left = uint64_t(o_.retry_entries) << std::min<uint32_t>(p.demotions, 20);
  ++p.demotions;
  ++stats.pages_demoted;
}

}  // namespace vireo::jit
