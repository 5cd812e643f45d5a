// Per-opcode facts the passes ask of every instruction they walk (and the backend of some),
// as one load from a table of bits instead of a call to a switch each: has_side_effects,
// is_sync_point and is_pure were three calls per instruction in the pipeline's walks, a tenth
// of its time on cc1 (docs/performance-history.md, "Translation cost, eighth pass").
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "jit/ir/types.h"

namespace vireo::jit::passes::detail {

enum OpTrait : uint8_t {
  kSideEffects = 1,  // passes::has_side_effects
  kSyncPoint = 2,    // passes::is_sync_point
  kPure = 4,         // the same operation on the same operands is the same value (value numbering)
};

extern const std::array<uint8_t, size_t(ir::Opcode::Count)> kOpTraits;  // (op_traits.cpp)

inline bool has_trait(ir::Opcode op, OpTrait t) { return (kOpTraits[size_t(op)] & t) != 0; }

}  // namespace vireo::jit::passes::detail
