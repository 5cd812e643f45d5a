// Tlb: the software TLB of system mode, engine-independent (interp today, the JIT later).
//
// Direct-mapped on the virtual page number. An entry caches one 4 KiB translation with the
// rights the page walk granted, separately for supervisor and user accesses and for read,
// write and execute, so a hit needs one compare and one bit test. Write rights are granted
// only once the walk has set the page's dirty bit, so the first write to a clean page misses
// and walks again to set it (SDM Vol. 3, 4.8). Large pages are cached per 4 KiB piece.
#pragma once

#include <array>
#include <cstdint>

namespace vireo::softmmu {

// Access rights bits (Tlb::Entry::rights); user rights are the supervisor ones shifted by 3.
namespace right {
inline constexpr uint8_t R = 1, W = 2, X = 4;
inline constexpr unsigned kUserShift = 3;
}  // namespace right

enum class Access : uint8_t { Read = 0, Write = 1, Exec = 2 };

inline uint8_t right_for(Access a, bool user) {
  uint8_t r = a == Access::Read ? right::R : a == Access::Write ? right::W : right::X;
  return uint8_t(r << (user ? right::kUserShift : 0));
}

struct TlbStats {
  uint64_t hits = 0, misses = 0, flushes = 0, page_flushes = 0;
};

class Tlb {
 public:
  static constexpr unsigned kEntries = 256;
  struct Entry {
    uint64_t vpn = ~uint64_t(0);  // virtual page number; ~0 = empty
    uint64_t ppn = 0;             // physical page number
    uint8_t rights = 0;
    bool global = false;
    uint8_t page_shift = 12;      // 12, 21, 22 or 30: the size of the page it came from
  };

  Entry* lookup(uint64_t la, uint8_t need) {
    Entry& e = entries_[(la >> 12) % kEntries];
    if (e.vpn == la >> 12 && (e.rights & need)) {
      ++stats.hits;
      return &e;
    }
    ++stats.misses;
    return nullptr;
  }
  Entry& slot(uint64_t la) { return entries_[(la >> 12) % kEntries]; }

  // Everything (CR0/CR4/EFER changes, CR3 writes without CR4.PGE).
  void flush_all() {
    ++generation;
    for (auto& e : entries_) e.vpn = ~uint64_t(0);
    ++stats.flushes;
  }
  // A CR3 write with CR4.PGE: global translations survive (SDM Vol. 3, 4.10.4.1).
  void flush_non_global() {
    ++generation;
    for (auto& e : entries_)
      if (!e.global) e.vpn = ~uint64_t(0);
    ++stats.flushes;
  }
  // INVLPG: the translation of the page holding `la`, global or not. A large page is cached
  // per 4 KiB piece, so every piece of the same large page goes too.
  void flush_page(uint64_t la) {
    ++generation;
    uint64_t vpn = la >> 12;
    for (auto& e : entries_)
      if (((e.vpn ^ vpn) >> (e.page_shift - 12)) == 0) e.vpn = ~uint64_t(0);
    ++stats.page_flushes;
  }

  TlbStats stats;
  // Counts flushes of any kind: a translation cached outside the TLB (the interpreter's code
  // page) is valid while this is unchanged.
  uint64_t generation = 0;

 private:
  std::array<Entry, kEntries> entries_{};
};

}  // namespace vireo::softmmu
