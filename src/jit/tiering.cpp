#include "jit/tiering.h"

#include <bit>

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
  if (++n < threshold()) return false;
  n = 0;
  return true;
}

uint32_t& Tiering::EntryCounts::operator[](uint64_t pc) {
  if ((used_ + 1) * 2 > slots_.size()) grow();
  const size_t mask = slots_.size() - 1;
  const uint32_t tag = tag_of(pc);
  for (size_t i = index_of(tag);; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.tag == tag) return s.n;
    if (s.tag == 0) {
      s.tag = tag;
      s.n = 0;
      ++used_;
      return s.n;
    }
  }
}

void Tiering::EntryCounts::grow() {
  std::vector<Slot> old = std::move(slots_);
  const size_t size = std::max<size_t>(1024, old.size() * 2);
  slots_.assign(size, Slot{0, 0});
  shift_ = 64 - unsigned(std::countr_zero(size));
  const size_t mask = size - 1;
  for (const Slot& s : old) {
    if (s.tag == 0) continue;
    size_t i = index_of(s.tag);
    while (slots_[i].tag != 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
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
