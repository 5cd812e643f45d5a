// Instruction forms: mnemonic x operand shape (x prefix), enumerated from compact per-family
// tables by asking Zydis's encoder which shapes exist, and instantiated per case with random
// registers, addressing modes and immediates.
#pragma once

#include <Zydis/Zydis.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "state.h"

namespace vireo::difftest {

enum class Family : uint8_t {
  Alu, Shift, MulDiv, Bit, Cond, Move, Atomic, String,
  SseMove, SseInt, SseFp, SseCvt, Sse3, Ssse3, Sse41, X87,
  Bmi,  // BMI1, BMI2, LZCNT/TZCNT/POPCNT
  Adx,
  Avx, Avx2,  // VEX.128/VEX.256 forms (helper/avx)
  Fma, F16c,          // VEX.128 forms (need the AVX state)
  Aes, Pclmul, Sha,   // legacy SSE encodings
  AesAvx,             // VEX.128 vaes*, vpclmulqdq
  Sse42,              // the packed string compares (helper/isa: the JIT translates pcmp?stri)
  Count
};
const char* family_name(Family f);

// Operand kinds. A form is a mnemonic with one kind per explicit operand.
enum class Kind : uint8_t {
  R8, R16, R32, R64, M8, M16, M32, M64, M80, M128, I8, I16, I32, I64, CL, XMM, ST0, STI,
  YMM, M256,  // the AVX families
};

struct Form {
  std::string name;     // "lock add m64, r64": also what --filter matches
  Family family;
  ZydisMnemonic mnemonic;
  ZydisInstructionAttributes prefixes;
  std::vector<Kind> kinds;
  bool in_sequences;    // usable in --sequences (no string ops, no x87)
  // A family added after the sequence reproducers were recorded: drawn into --sequences only
  // when --families names it, so that the default pool (and every recorded case) stays as it was.
  bool sequences_on_request;
};

// All forms whose family is enabled (SSE3/SSSE3/SSE4.1 only if the engine's CPUID says so).
std::vector<Form> enumerate_forms(bool all_families = false);
// Whether a family is advertised by vireo::cpuid (always true for the base families).
bool family_advertised(Family f);

using Rng = std::mt19937_64;

// How operands are chosen: single-instruction cases point every memory operand anywhere in the
// scratch page through any registers; sequences keep R15 as a fixed base (no instruction may
// write it) so that later instructions still address the scratch page, and cluster accesses
// so that instructions alias each other's memory.
enum class Mode : uint8_t { Single, Sequence };
inline constexpr int kSeqBase = R15;
inline constexpr uint64_t kSeqBaseValue = kScratchAddr + 0x800;

// Encodes one instance of `f` at guest address `rip` into `out` (returns its length, 0 if no
// instance could be encoded), adjusting `st` and `scratch` so that its operands are meaningful:
// memory operands point into the scratch page, divisions sometimes do not overflow, counts and
// bit offsets are biased toward edges, and so on.
size_t instantiate(const Form& f, Mode mode, Rng& rng, uint64_t rip, CaseState& st,
                   uint8_t* scratch, uint8_t* out);

// Whether an instance, placed at `rip` in a sequence, is one that faults for reasons known
// before running it (a division, a bit string with a register offset, a misaligned 16-byte
// operand). --avoid-faults leaves them out so that long sequences run to their end.
bool faults_predictably(const uint8_t* code, size_t len, uint64_t rip);

// Random edge-biased starting state and scratch content for a family.
void random_state(Family fam, Rng& rng, CaseState& st, uint8_t* scratch);
// Random YMM upper halves (the AVX families; sequences that draw AVX forms).
void random_ymm_hi(Rng& rng, CaseState& st);
bool is_avx_family(Family f);

// Edge-biased values.
uint64_t random_gpr(Rng& rng);
void random_fp_bytes(Rng& rng, unsigned size, uint8_t* out);  // 4/8 = float/double, 10 = x87

}  // namespace vireo::difftest
