#include "interp/known_shapes.h"

#include <array>
#include <iterator>

#include "cpu/decode_template.h"

namespace vireo {

namespace {

// (Generated: tools/gen_known_shapes.cpp.)
#define K(hash, ...) hash
constexpr uint64_t kHashes[] = {
#include "interp/known_shapes.inc"
};
#undef K

constexpr OpKind k(int v) { return OpKind(v); }
constexpr RegClass c(int v) { return RegClass(v); }
#define K(hash, ...) Insn{__VA_ARGS__}
constexpr Insn kInsns[] = {
#include "interp/known_shapes.inc"
};
#undef K

static_assert(std::size(kHashes) == std::size(kInsns));

// The entries by hash: an open-addressed table (linear probing) of twice as many slots as
// entries, each 4 bytes, the entry's index + 1 and a tag of 16 other bits of its hash, built at
// compile time in the table's order (the most used shapes first take their home slots). A
// look-up is one load of a slot (the next ones on its cache line), then the entry; a slot whose
// tag differs is passed without loading its entry. (Until 2026-12-07: a bucket of the sorted
// hashes by their top 12 bits, three dependent loads from three tables before the entry's:
// known_shape's samples were half on those loads in a profile of fork+exec of a static `true`.)
constexpr size_t kEntries = std::size(kHashes);
static_assert(kEntries < (1u << 16) - 1);
constexpr unsigned kSlotBits = 13;
constexpr size_t kSlots = size_t(1) << kSlotBits;
static_assert(2 * kEntries <= kSlots + kSlots / 16, "the table's load past ~0.53: more slots");
constexpr size_t home_slot(uint64_t hash) { return size_t(hash >> (64 - kSlotBits)); }
constexpr uint32_t slot_tag(uint64_t hash) { return uint32_t(hash >> 16) & 0xFFFF0000u; }
constexpr std::array<uint32_t, kSlots> kSlotTable = [] {
  std::array<uint32_t, kSlots> t{};
  for (size_t i = 0; i < kEntries; ++i) {
    size_t s = home_slot(kHashes[i]);
    while (t[s]) s = (s + 1) & (kSlots - 1);
    t[s] = slot_tag(kHashes[i]) | uint32_t(i + 1);
  }
  return t;
}();

}  // namespace

std::span<const Insn> known_shapes() { return kInsns; }

const Insn* known_shape(uint64_t w0, uint64_t w1, unsigned shape, uint64_t hash) {
  const uint32_t tag = slot_tag(hash);
  for (size_t s = home_slot(hash);; s = (s + 1) & (kSlots - 1)) {
    const uint32_t slot = kSlotTable[s];
    if (!slot) return nullptr;
    if ((slot & 0xFFFF0000u) != tag) continue;
    const Insn& t = kInsns[(slot & 0xFFFF) - 1];
    uint64_t c0, c1;
    std::memcpy(&c0, t.bytes, 8);
    std::memcpy(&c1, t.bytes + 8, 8);
    if (t.shape_len == shape && (((w0 ^ c0) & kByteMasks.lo[shape]) | ((w1 ^ c1) & kByteMasks.hi[shape])) == 0)
      return &t;
  }
}

bool may_be_known_shape(const Insn& in) {
  if (!in.shape_len) return false;
  // (cpu/decoder.cpp: the prefetch group's register forms, and F3 REX.B 90, follow the host.)
  if (in.map == 1 && in.opcode == 0x0D) return false;
  if (in.map == 0 && in.opcode == 0x90) return false;
  return true;
}

}  // namespace vireo
