#include "interp/known_shapes.h"

#include <algorithm>
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

// The entries by hash (the table is in the order of use, the most used first, so that a
// short process maps only its first pages): pairs sorted at compile time, and where the pairs
// with each value of the hash's top kBucketBits bits start. A look-up scans one bucket, ~1
// pair, where a binary search took 12 steps (~160 host instructions, a tenth of what a known
// shape saves).
constexpr size_t kEntries = std::size(kHashes);
static_assert(kEntries < (1u << 16));
struct ByHash {
  uint64_t hash;
  uint16_t index;
};
constexpr std::array<ByHash, kEntries> kByHash = [] {
  std::array<ByHash, kEntries> a{};
  for (size_t i = 0; i < kEntries; ++i) a[i] = {kHashes[i], uint16_t(i)};
  std::sort(a.begin(), a.end(), [](const ByHash& x, const ByHash& y) { return x.hash < y.hash; });
  return a;
}();
// (Apart, 10 bytes an entry instead of 16: the pairs' padding was 26 KB of the binary, and of a
// process's RSS once fault-around mapped it.)
constexpr std::array<uint64_t, kEntries> kSortedHashes = [] {
  std::array<uint64_t, kEntries> h{};
  for (size_t i = 0; i < kEntries; ++i) h[i] = kByHash[i].hash;
  return h;
}();
constexpr std::array<uint16_t, kEntries> kSortedIndex = [] {
  std::array<uint16_t, kEntries> x{};
  for (size_t i = 0; i < kEntries; ++i) x[i] = kByHash[i].index;
  return x;
}();
constexpr unsigned kBucketBits = 12;
constexpr std::array<uint16_t, (1u << kBucketBits) + 1> kBucketStart = [] {
  std::array<uint16_t, (1u << kBucketBits) + 1> start{};
  size_t i = 0;
  for (size_t b = 0; b <= (1u << kBucketBits); ++b) {
    while (i < kEntries && (kSortedHashes[i] >> (64 - kBucketBits)) < b) ++i;
    start[b] = uint16_t(i);
  }
  return start;
}();

}  // namespace

std::span<const Insn> known_shapes() { return kInsns; }

const Insn* known_shape(uint64_t w0, uint64_t w1, unsigned shape, uint64_t hash) {
  const size_t b = hash >> (64 - kBucketBits);
  for (size_t i = kBucketStart[b], end = kBucketStart[b + 1]; i < end; ++i) {
    if (kSortedHashes[i] != hash) continue;
    const Insn& t = kInsns[kSortedIndex[i]];
    uint64_t c0, c1;
    std::memcpy(&c0, t.bytes, 8);
    std::memcpy(&c1, t.bytes + 8, 8);
    if (t.shape_len == shape && (((w0 ^ c0) & kByteMasks.lo[shape]) | ((w1 ^ c1) & kByteMasks.hi[shape])) == 0)
      return &t;
  }
  return nullptr;
}

bool may_be_known_shape(const Insn& in) {
  if (!in.shape_len) return false;
  // (cpu/decoder.cpp: the prefetch group's register forms, and F3 REX.B 90, follow the host.)
  if (in.map == 1 && in.opcode == 0x0D) return false;
  if (in.map == 0 && in.opcode == 0x90) return false;
  return true;
}

}  // namespace vireo
