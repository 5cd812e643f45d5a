// A translated block's fault metadata (its pc map and sync records) packed once the block is
// emitted, and read back when a host fault lands in its code. Both are ascending in host
// offset, so offsets and guest pcs are stored as deltas (LEB128, as DWARF line tables do):
// most take a byte. The block's code ranges and exit slots go in front of them, fixed too
// once the block is emitted (translated_block.h).
#include <algorithm>
#include <cstring>

#include "jit/cache/translated_block.h"

namespace vireo::jit {

namespace {

void put_uleb(std::vector<uint8_t>& out, uint64_t v) {
  do {
    uint8_t b = v & 0x7F;
    v >>= 7;
    out.push_back(v ? b | 0x80 : b);
  } while (v);
}

uint64_t zigzag(int64_t v) { return (uint64_t(v) << 1) ^ uint64_t(v >> 63); }
int64_t unzigzag(uint64_t z) { return int64_t(z >> 1) ^ -int64_t(z & 1); }

void put_sleb(std::vector<uint8_t>& out, int64_t v) { put_uleb(out, zigzag(v)); }

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

void put_recipe(std::vector<uint8_t>& out, const FlagsRecipe& r) {
  out.push_back(r.op);
  out.push_back(r.size);
  out.push_back(uint8_t(r.a));
  out.push_back(uint8_t(r.b));
  put_uleb(out, r.imm);
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
void put_sync(std::vector<uint8_t>& out, const SyncRecord& r, uint32_t prev_offset) {
  put_uleb(out, r.host_offset - prev_offset);
  // host_end: 0 (the record covers only its host offset), else 1 + its distance from it.
  put_uleb(out, r.host_end ? 1 + zigzag(int64_t(r.host_end) - int64_t(r.host_offset)) : 0);
  const bool flags = r.flags_reg >= 0 || r.flags_recipe.op != FlagsRecipe::None;
  out.push_back(uint8_t(r.gprs.size()) | (flags ? kHasFlags : 0) |
                (r.base_recipe.op != FlagsRecipe::None ? kHasBase : 0) | (r.xmm_dirty ? kHasXmm : 0));
  for (auto [guest, host] : r.gprs) out.push_back(uint8_t(guest << 4 | (host & 15)));
  if (flags) {
    out.push_back(uint8_t(r.flags_reg));
    put_uleb(out, r.flags_mask);
    if (r.flags_reg < 0) {
      put_recipe(out, r.flags_recipe);
      out.push_back(uint8_t(r.flags_if));  // a loop's carried flags: the recipe's condition
    }
  }
  if (r.base_recipe.op != FlagsRecipe::None) put_recipe(out, r.base_recipe);
  if (r.xmm_dirty) {
    out.push_back(uint8_t(r.xmm_dirty));
    out.push_back(uint8_t(r.xmm_dirty >> 8));
  }
}

SyncRecord get_sync(Reader& in, uint32_t prev_offset) {
  SyncRecord r;
  r.host_offset = prev_offset + uint32_t(in.uleb());
  const uint64_t span = in.uleb();
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
  return r;
}

}  // namespace

void TranslatedBlock::pack_metadata() {
  thread_local std::vector<uint8_t> scratch;  // (reused from block to block)
  scratch.clear();
  // The lists first (16- and 8-byte entries, aligned at the allocation's start), then the
  // coded metadata. (Counts past 16 bits stay in their lists: no block has that many.)
  const bool lists = guest_code.size() <= 0xFFFF && exits.size() <= 0xFFFF;
  if (lists) {
    for (auto [begin, end] : guest_code) {
      scratch.insert(scratch.end(), reinterpret_cast<const uint8_t*>(&begin), reinterpret_cast<const uint8_t*>(&begin) + 8);
      scratch.insert(scratch.end(), reinterpret_cast<const uint8_t*>(&end), reinterpret_cast<const uint8_t*>(&end) + 8);
    }
    for (auto& e : exits) {
      const ExitSlot* p = e.get();
      scratch.insert(scratch.end(), reinterpret_cast<const uint8_t*>(&p), reinterpret_cast<const uint8_t*>(&p) + 8);
    }
  }
  const size_t list_bytes = scratch.size();
  uint32_t off = 0;
  uint64_t pc = guest_pc;
  for (auto [o, g] : pc_map) {
    put_uleb(scratch, o - off);
    put_sleb(scratch, int64_t(g - pc));
    off = o;
    pc = g;
  }
  packed_pc_bytes = uint32_t(scratch.size() - list_bytes);
  off = 0;
  for (const SyncRecord& r : sync) {
    put_sync(scratch, r, off);
    off = r.host_offset;
  }
  packed_sync_bytes = uint32_t(scratch.size() - list_bytes - packed_pc_bytes);
  packed.reset(scratch.empty() ? nullptr : new uint8_t[scratch.size()]);
  if (!scratch.empty()) std::memcpy(packed.get(), scratch.data(), scratch.size());
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
