#include "interp/known_shapes.h"

#include <algorithm>

#include "cpu/decode_template.h"

namespace vireo {

namespace {

// (Generated: tests/unit/interp_known_shapes_test.cpp, DISABLED_PrintTheTable.)
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

}  // namespace

const KnownShapes& known_shapes() {
  static constexpr KnownShapes table{kHashes, kInsns};
  return table;
}

const Insn* known_shape(uint64_t w0, uint64_t w1, unsigned shape, uint64_t hash) {
  const uint64_t* const end = std::end(kHashes);
  for (const uint64_t* p = std::lower_bound(std::begin(kHashes), end, hash); p != end && *p == hash; ++p) {
    const Insn& t = kInsns[p - kHashes];
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
