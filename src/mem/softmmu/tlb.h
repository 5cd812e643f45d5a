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
#include <iterator>
#include <utility>

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

// The JIT's view of the same TLB (system mode, src/jit/system/): one direct-mapped table per
// privilege (0 supervisor, 1 user) that translated code reads inline, QEMU's CPUTLBEntry
// shape. read_tag / write_tag: the page's linear address when that access may go straight
// to RAM (~0 otherwise: not cached, MMIO, a clean page not yet written, a page holding
// translated code); addend: host address - linear address. Translated code compares the
// page of an access's *last* byte with the tag of its first byte's slot, so an access that
// crosses a page misses. 32 bytes, so a slot is (la >> 7) & (kEntries - 1) << 5.
struct JitTlbEntry {
  uint64_t read_tag = ~uint64_t(0);
  uint64_t write_tag = ~uint64_t(0);
  uint64_t addend = 0;
  // Not read by translated code: what the flushes need to know of the translation it came
  // from (INVLPG drops every piece of a large page; a CR3 write keeps global pages).
  uint8_t page_shift = 12;
  bool global = false;
  uint8_t pad[6] = {};
  uint64_t page() const { return read_tag != ~uint64_t(0) ? read_tag : write_tag; }
};
static_assert(sizeof(JitTlbEntry) == 32);

// What the TLB dropped since the JIT last looked (Tlb::take_flushes): the JIT's jump caches
// (virtual pc -> translated code) must forget code on those pages.
struct TlbFlushLog {
  bool all = false;         // everything (or more pages than are worth listing)
  bool non_global = false;  // the non-global translations (a CR3 write with CR4.PGE)
  uint64_t pages[8];        // INVLPG: the linear page and the size of the page it was in
  uint8_t page_shifts[8];
  unsigned npages = 0;
  bool empty() const { return !all && !non_global && !npages; }
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
    large_bits_.fill(0);
    huge_cached_ = false;
    jit_flush();
    if (jit_used) flush_log.all = true;
    ++stats.flushes;
  }
  // A CR3 write with CR4.PGE: global translations survive (SDM Vol. 3, 4.10.4.1).
  void flush_non_global() {
    ++generation;
    for (auto& e : entries_)
      if (!e.global) e.vpn = ~uint64_t(0);
    if (jit_used) {
      for (auto& t : jit_)
        for (auto& e : t)
          if (!e.global) e = JitTlbEntry{};
      flush_log.non_global = true;
    }
    ++stats.flushes;
  }
  // INVLPG: the translation of the page holding `la`, global or not. A large page is cached
  // per 4 KiB piece, so every piece of the same large page goes too.
  void flush_page(uint64_t la) {
    ++generation;
    uint64_t vpn = la >> 12;
    unsigned shift = 12;  // (the largest page the translation of `la` was cached from)
    if (!in_large_page(la)) {  // (only the page's own slots can hold it)
      if (entries_[vpn % kEntries].vpn == vpn) entries_[vpn % kEntries].vpn = ~uint64_t(0);
      if (jit_used) {
        for (auto& t : jit_)
          if (JitTlbEntry& e = t[vpn % kEntries]; e.page() != ~uint64_t(0) && e.page() >> 12 == vpn) e = JitTlbEntry{};
        log_page(la, 12);
      }
      ++stats.page_flushes;
      return;
    }
    for (auto& e : entries_)
      if (((e.vpn ^ vpn) >> (e.page_shift - 12)) == 0) {
        e.vpn = ~uint64_t(0);
        if (e.page_shift > shift) shift = e.page_shift;
      }
    if (jit_used) {
      for (auto& t : jit_)
        for (auto& e : t)
          if (e.page() != ~uint64_t(0) && ((e.page() >> 12 ^ vpn) >> (e.page_shift - 12)) == 0) {
            if (e.page_shift > shift) shift = e.page_shift;
            e = JitTlbEntry{};
          }
      log_page(la, shift);
    }
    ++stats.page_flushes;
  }
  // A translation from a page larger than 4 KiB was cached (Mmu::walk): INVLPG of an address
  // inside it must look at every slot, where its 4 KiB pieces may be.
  // (Kept as a hashed bitmap of 2 MiB regions, emptied by a full flush: a kernel's direct
  // map is dozens of 2 MiB pages. A 1 GiB page cached makes every INVLPG look everywhere.)
  void note_large(uint64_t la, unsigned shift) {
    if (shift >= 30) {
      huge_cached_ = true;
      return;
    }
    const uint64_t base = la >> shift << shift;
    for (uint64_t r = base; r < base + (uint64_t(1) << shift); r += uint64_t(1) << 21) {
      const unsigned h = region_hash(r);
      large_bits_[h / 64] |= uint64_t(1) << (h % 64);
    }
  }
  // Whether `la` lies in a large page that may be cached. (A flush of some pieces keeps the
  // record: a superset only costs a full look.)
  bool in_large_page(uint64_t la) const {
    const unsigned h = region_hash(la);
    return huge_cached_ || (large_bits_[h / 64] >> (h % 64) & 1);
  }
  // The flushes since the last call (the JIT's jump caches), and a fresh log.
  TlbFlushLog take_flushes() { return std::exchange(flush_log, TlbFlushLog{}); }

  // ---- the JIT's tables (JitTlbEntry) ----
  using JitTable = std::array<JitTlbEntry, kEntries>;
  JitTable* jit_table(bool user) { return &jit_[user]; }
  JitTlbEntry& jit_slot(uint64_t la, bool user) { return jit_[user][(la >> 12) % kEntries]; }
  void jit_flush() {
    if (!jit_used) return;
    for (auto& t : jit_)
      for (auto& e : t) e = JitTlbEntry{};
  }
  // Drops write rights to physical page `ppn` (it now holds translated code): writes to it
  // through any mapping take the slow path, which invalidates the code first.
  void jit_drop_writes(uint8_t* host_page) {
    for (auto& t : jit_)
      for (auto& e : t)
        if (e.read_tag != ~uint64_t(0) && e.read_tag + e.addend == reinterpret_cast<uintptr_t>(host_page))
          e.write_tag = ~uint64_t(0);
        else if (e.write_tag != ~uint64_t(0) && e.write_tag + e.addend == reinterpret_cast<uintptr_t>(host_page))
          e.write_tag = ~uint64_t(0);
  }
  bool jit_used = false;  // set by the JIT engine: the interpreter alone never fills them

  TlbFlushLog flush_log;
  TlbStats stats;
  // Counts flushes of any kind: a translation cached outside the TLB (the interpreter's code
  // page) is valid while this is unchanged.
  uint64_t generation = 0;

 private:
  void log_page(uint64_t la, unsigned shift) {
    if (flush_log.npages == std::size(flush_log.pages)) {
      flush_log.all = true;
    } else {
      flush_log.pages[flush_log.npages] = la & ~uint64_t(4095);
      flush_log.page_shifts[flush_log.npages++] = uint8_t(shift);
    }
  }
  static unsigned region_hash(uint64_t la) { return unsigned((la >> 21) ^ (la >> 33)) & 4095; }
  std::array<uint64_t, 64> large_bits_{};  // 2 MiB regions holding a large page cached since the last full flush
  bool huge_cached_ = false;
  std::array<Entry, kEntries> entries_{};
  std::array<JitTable, 2> jit_{};
};

}  // namespace vireo::softmmu
