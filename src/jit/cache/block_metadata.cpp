// A translated block's fault metadata (its pc map and sync records) packed once the block is
// emitted, and read back when a host fault lands in its code. Both are ascending in host
// offset, so offsets and guest pcs are stored as deltas (LEB128, as DWARF line tables do):
// most take a byte. The block's code ranges and exit slots go in front of them, fixed too
// once the block is emitted (translated_block.h).
#include <algorithm>
#include <cassert>
#include <cstring>

#include "jit/cache/translated_block.h"

namespace vireo::jit {

namespace {

// The packed bytes are written through a pointer into room reserved for the most they can
// take (kMaxPcEntryBytes, kMaxSyncBytes): a vector's push_back per byte, a capacity check and
// a store of its end each, was most of pack_metadata's time (~3% of translation).
struct Writer {
  uint8_t* p;
  void byte(uint8_t b) { *p++ = b; }
  void uleb(uint64_t v) {
    while (v >= 0x80) {
      *p++ = uint8_t(v | 0x80);
      v >>= 7;
    }
    *p++ = uint8_t(v);
  }
};
constexpr size_t kMaxUleb = 10;  // a 64-bit value, 7 bits a byte

uint64_t zigzag(int64_t v) { return (uint64_t(v) << 1) ^ uint64_t(v >> 63); }
int64_t unzigzag(uint64_t z) { return int64_t(z >> 1) ^ -int64_t(z & 1); }

struct Reader {
  const uint8_t* p;
  const uint8_t* end;
  bool more() const { return p < end; }
  uint64_t uleb() {
    uint64_t v = 0;
    for (unsigned shift = 0; p < end; shift += 7) {
      uint8_t b = *p++;
      v |= uint64_t(b & 0x7F) << shift;
      if (!(b & 0x80)) break;
    }
    return v;
  }
  int64_t sleb() { return unzigzag(uleb()); }
  uint8_t byte() { return p < end ? *p++ : 0; }
};

// Header byte of a packed sync record: the number of GPR locations (0-16) and what follows.
constexpr uint8_t kCountMask = 0x1F, kHasFlags = 0x20, kHasBase = 0x40, kHasXmm = 0x80;

constexpr size_t kMaxRecipeBytes = 4 + kMaxUleb;
void put_recipe(Writer& out, const FlagsRecipe& r) {
  out.byte(r.op);
  out.byte(r.size);
  out.byte(uint8_t(r.a));
  out.byte(uint8_t(r.b));
  out.uleb(r.imm);
}

FlagsRecipe get_recipe(Reader& in) {
  FlagsRecipe r;
  r.op = FlagsRecipe::Op(in.byte());
  r.size = in.byte();
  r.a = int8_t(in.byte());
  r.b = int8_t(in.byte());
  r.imm = in.uleb();
  return r;
}

// One record; `prev_offset` is the previous record's host offset (0 for the first).
// The most one record takes: its offset, span and header, 16 locations, the flags' register,
// mask, recipe and condition, the base recipe, the XMM and YMM masks.
constexpr size_t kMaxSyncBytes = 2 * kMaxUleb + 1 + 16 + 1 + kMaxUleb + kMaxRecipeBytes + 1 + kMaxRecipeBytes + 2 + 2;
void put_sync(Writer& out, const SyncRecord& r, uint32_t prev_offset) {
  out.uleb(r.host_offset - prev_offset);
  // host_end: 0 (the record covers only its host offset), else 1 + its distance from it;
  // shifted left by one, the low bit telling whether the YMM upper-half mask follows the XMM
  // one (a loop of VEX ops: backend/x64/emit_avx.cpp).
  const bool ymm = r.ymm_hi_dirty != 0;
  out.uleb((r.host_end ? 1 + zigzag(int64_t(r.host_end) - int64_t(r.host_offset)) : 0) << 1 | (ymm ? 1 : 0));
  const bool flags = r.flags_reg >= 0 || r.flags_recipe.op != FlagsRecipe::None;
  out.byte(uint8_t(r.gprs.size()) | (flags ? kHasFlags : 0) |
           (r.base_recipe.op != FlagsRecipe::None ? kHasBase : 0) | (r.xmm_dirty ? kHasXmm : 0));
  for (auto [guest, host] : r.gprs) out.byte(uint8_t(guest << 4 | (host & 15)));
  if (flags) {
    out.byte(uint8_t(r.flags_reg));
    out.uleb(r.flags_mask);
    if (r.flags_reg < 0) {
      put_recipe(out, r.flags_recipe);
      out.byte(uint8_t(r.flags_if));  // a loop's carried flags: the recipe's condition
    }
  }
  if (r.base_recipe.op != FlagsRecipe::None) put_recipe(out, r.base_recipe);
  if (r.xmm_dirty) {
    out.byte(uint8_t(r.xmm_dirty));
    out.byte(uint8_t(r.xmm_dirty >> 8));
  }
  if (ymm) {
    out.byte(uint8_t(r.ymm_hi_dirty));
    out.byte(uint8_t(r.ymm_hi_dirty >> 8));
  }
}
constexpr size_t kMaxPcEntryBytes = 2 * kMaxUleb;

SyncRecord get_sync(Reader& in, uint32_t prev_offset) {
  SyncRecord r;
  r.host_offset = prev_offset + uint32_t(in.uleb());
  const uint64_t coded = in.uleb(), span = coded >> 1;
  r.host_end = span ? uint32_t(int64_t(r.host_offset) + unzigzag(span - 1)) : 0;
  const uint8_t head = in.byte();
  for (unsigned i = 0; i < (head & kCountMask) && i < 16; ++i) {
    const uint8_t b = in.byte();
    r.gprs.emplace_back(b >> 4, b & 15);
  }
  if (head & kHasFlags) {
    r.flags_reg = int8_t(in.byte());
    r.flags_mask = in.uleb();
    if (r.flags_reg < 0) {
      r.flags_recipe = get_recipe(in);
      r.flags_if = int8_t(in.byte());
    }
  }
  if (head & kHasBase) r.base_recipe = get_recipe(in);
  if (head & kHasXmm) {
    r.xmm_dirty = in.byte();
    r.xmm_dirty |= uint16_t(in.byte()) << 8;
  }
  if (coded & 1) {
    r.ymm_hi_dirty = in.byte();
    r.ymm_hi_dirty |= uint16_t(in.byte()) << 8;
  }
  return r;
}

}  // namespace

void TranslatedBlock::pack_metadata() {
  thread_local std::vector<uint8_t> scratch;  // (reused from block to block)
  // The lists first (16- and 8-byte entries, aligned at the allocation's start), then the
  // coded metadata. (Counts past 16 bits stay in their lists: no block has that many.)
  const bool lists = guest_code.size() <= 0xFFFF && exits.size() <= 0xFFFF;
  const size_t room = (lists ? 16 * guest_code.size() + 8 * exits.size() : 0) +
                      kMaxPcEntryBytes * pc_map.size() + kMaxSyncBytes * sync.size();
  if (scratch.size() < room) scratch.resize(room);
  uint8_t* const base = scratch.data();
  Writer out{base};
  if (lists) {
    for (auto [begin, end] : guest_code) {
      std::memcpy(out.p, &begin, 8);
      std::memcpy(out.p + 8, &end, 8);
      out.p += 16;
    }
    for (auto& e : exits) {
      const ExitSlot* p = e.get();
      std::memcpy(out.p, &p, 8);
      out.p += 8;
    }
  }
  const size_t list_bytes = size_t(out.p - base);
  uint32_t off = 0;
  uint64_t pc = guest_pc;
  for (auto [o, g] : pc_map) {
    out.uleb(o - off);
    out.uleb(zigzag(int64_t(g - pc)));
    off = o;
    pc = g;
  }
  packed_pc_bytes = uint32_t(size_t(out.p - base) - list_bytes);
  off = 0;
  for (const SyncRecord& r : sync) {
    put_sync(out, r, off);
    off = r.host_offset;
  }
  const size_t size = size_t(out.p - base);
  assert(size <= room);  // (kMaxPcEntryBytes and kMaxSyncBytes bound every entry)
  packed_sync_bytes = uint32_t(size - list_bytes - packed_pc_bytes);
  packed.reset(size == 0 ? nullptr : new uint8_t[size]);
  if (size) std::memcpy(packed.get(), base, size);
  pc_map.reset();
  sync.reset();
  if (lists) {
    packed_ranges = uint16_t(guest_code.size());
    packed_exits = uint16_t(exits.size());
    guest_code.reset();
    for (auto& e : exits) (void)e.release();  // (owned through `packed` now)
    exits.reset();
  }
}

TranslatedBlock::~TranslatedBlock() {
  for (size_t i = 0; i < packed_exits; ++i) delete exit_at(i);
}

uint64_t TranslatedBlock::guest_pc_at(uint64_t host_pc) const {
  const uint64_t off = host_pc - uint64_t(code);
  if (!pc_map.empty()) {
    auto it = std::upper_bound(pc_map.begin(), pc_map.end(), off,
                               [](uint64_t o, const auto& e) { return o < e.first; });
    return it == pc_map.begin() ? guest_pc : std::prev(it)->second;
  }
  // The last entry at or below off.
  const uint8_t* meta = packed.get() + packed_lists_bytes();
  Reader in{meta, meta + packed_pc_bytes};
  uint64_t o = 0, pc = guest_pc, found = guest_pc;
  while (in.more()) {
    o += in.uleb();
    pc += uint64_t(in.sleb());
    if (o > off) break;
    found = pc;
  }
  return found;
}

bool TranslatedBlock::find_sync(uint32_t off, SyncRecord& out) const {
  // The first record at or past off; or the one before it if off lies inside the op code
  // that one covers (host_end).
  auto covers = [off](const SyncRecord& r) { return r.host_offset == off || off < r.host_end; };
  if (!sync.empty()) {
    auto it = std::lower_bound(sync.begin(), sync.end(), off,
                               [](const SyncRecord& r, uint32_t o) { return r.host_offset < o; });
    if ((it == sync.end() || it->host_offset != off) && it != sync.begin() && off < std::prev(it)->host_end)
      --it;
    if (it == sync.end() || !covers(*it)) return false;
    out = *it;
    return true;
  }
  const uint8_t* meta = packed.get() + packed_lists_bytes();
  Reader in{meta + packed_pc_bytes, meta + packed_bytes()};
  SyncRecord prev;
  bool have_prev = false;
  uint32_t at = 0;
  while (in.more()) {
    SyncRecord r = get_sync(in, at);
    at = r.host_offset;
    if (r.host_offset >= off) {
      if (r.host_offset != off && have_prev && off < prev.host_end) r = prev;
      if (!covers(r)) return false;
      out = r;
      return true;
    }
    prev = r;
    have_prev = true;
  }
  if (have_prev && off < prev.host_end) {
    out = prev;
    return true;
  }
  return false;
}

}  // namespace vireo::jit
