// The alignment a VEX instruction's memory operand needs (else #GP): one rule, so the
// interpreter (interp/avx_host.cpp) and the jit frontend (jit/frontend/avx_forms.cpp) agree.
#pragma once

#include <Zydis/Mnemonic.h>

#include <cstdint>

namespace vireo {

// The aligned moves are the only VEX instructions with an alignment rule (SDM Vol. 1, 14.9):
// they need their operand's size; every other form, 1.
inline uint8_t vex_alignment(ZydisMnemonic m, unsigned size) {
  switch (m) {
    case ZYDIS_MNEMONIC_VMOVAPS: case ZYDIS_MNEMONIC_VMOVAPD: case ZYDIS_MNEMONIC_VMOVDQA:
    case ZYDIS_MNEMONIC_VMOVNTPS: case ZYDIS_MNEMONIC_VMOVNTPD: case ZYDIS_MNEMONIC_VMOVNTDQ:
    case ZYDIS_MNEMONIC_VMOVNTDQA:
      return uint8_t(size);
    default: return 1;
  }
}

}  // namespace vireo
