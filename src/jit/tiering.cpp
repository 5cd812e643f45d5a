#include "jit/tiering.h"

namespace vireo::jit {

bool Tiering::enter_cold(uint64_t pc) {
  if (!pages_.empty()) {
    auto it = pages_.find(pc >> 12);
    if (it != pages_.end() && it->second.entries_left) {
      ++stats.demoted_entries;
      if (--it->second.entries_left) return false;
      it->second.faults = 0;  // promoted again: translated at this entry
      return true;
    }
  }
  if (o_.translate_after == 0) return true;
  uint32_t& n = counts_[pc];
  if (++n < o_.translate_after) return false;
  counts_.erase(pc);
  return true;
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
