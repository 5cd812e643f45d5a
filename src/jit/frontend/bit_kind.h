// The bit-instruction kinds of the BitOp/FlagsBitOp IR ops (frontend and backend agree on
// these).
#pragma once

#include <cstdint>

namespace vireo::jit {

enum class BitKind : uint8_t { Bt, Bts, Btr, Btc, Bsf, Bsr, Tzcnt, Lzcnt, Popcnt };

}  // namespace vireo::jit
