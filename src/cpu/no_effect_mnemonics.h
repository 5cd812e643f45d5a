// Instructions with no architectural effect for a single-threaded user-mode guest: nops,
// hints, prefetches and fences (which order memory for other agents; there are none). One
// list, so the interpreter and the JIT frontend agree on it.
#pragma once

#include <Zydis/Mnemonic.h>

#include <array>

namespace vireo {

inline constexpr std::array<ZydisMnemonic, 16> kNoEffectMnemonics = {
    ZYDIS_MNEMONIC_NOP,         ZYDIS_MNEMONIC_PAUSE,       ZYDIS_MNEMONIC_ENDBR64,
    ZYDIS_MNEMONIC_ENDBR32,     ZYDIS_MNEMONIC_LFENCE,      ZYDIS_MNEMONIC_MFENCE,
    ZYDIS_MNEMONIC_SFENCE,      ZYDIS_MNEMONIC_PREFETCHT0,  ZYDIS_MNEMONIC_PREFETCHT1,
    ZYDIS_MNEMONIC_PREFETCHT2,  ZYDIS_MNEMONIC_PREFETCHNTA, ZYDIS_MNEMONIC_PREFETCHW,
    ZYDIS_MNEMONIC_PREFETCH,    ZYDIS_MNEMONIC_PREFETCHWT1,  // (0F 0D /2: a prefetch alias without it)
    // RDSSP is in the reserved-NOP space: a NOP while CET shadow stacks are off (SDM Vol. 2B,
    // RDSSP), as under Linux without user shadow stacks. libgcc's unwinder runs it to find
    // out (C++ exceptions in static programs).
    ZYDIS_MNEMONIC_RDSSPD, ZYDIS_MNEMONIC_RDSSPQ};

}  // namespace vireo
