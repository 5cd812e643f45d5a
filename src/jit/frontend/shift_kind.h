// The shift kinds of the Shift/FlagsShift IR ops (frontend and backend agree on these).
#pragma once

#include <cstdint>

namespace vireo::jit {

enum class ShiftKind : uint8_t { Shl, Shr, Sar, Rol, Ror };

}  // namespace vireo::jit
