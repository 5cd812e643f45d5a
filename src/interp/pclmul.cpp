// PCLMULQDQ, its VEX.128 form and VPCLMULQDQ (VEX.256, one product per 128-bit lane): the
// carry-less product of one quadword of each source, chosen by imm8 bits 0 and 4 (SDM Vol. 2,
// PCLMULQDQ). Computed in C++ (crypto_common.h says why).
#include <Zydis/Mnemonic.h>

#include <cstdint>

#include "interp/crypto_common.h"
#include "interp/dispatch.h"

namespace vireo {

namespace {

// The 128-bit carry-less product of a and b: XOR of b shifted by each set bit of a.
Xmm clmul(uint64_t a, uint64_t b) {
  uint64_t lo = 0, hi = 0;
  for (int i = 0; i < 64; ++i)
    if ((a >> i) & 1) {
      lo ^= b << i;
      if (i) hi ^= b >> (64 - i);
    }
  return sse::pack<uint64_t>({lo, hi});
}

Xmm select(const Xmm& s1, const Xmm& s2, uint8_t imm) {
  auto a = sse::lanes<uint64_t>(s1), b = sse::lanes<uint64_t>(s2);
  return clmul(a[imm & 1], b[(imm >> 4) & 1]);
}

void pclmulqdq(Exec& x, const Insn& in) {
  const uint8_t imm = crypto::imm8(in);
  crypto::legacy2(x, in, [imm](const Xmm& a, const Xmm& b) { return select(a, b, imm); });
}

void vpclmulqdq(Exec& x, const Insn& in) {
  const uint8_t imm = crypto::imm8(in);
  crypto::vex3(x, in, [imm](const Xmm& a, const Xmm& b) { return select(a, b, imm); });
}

}  // namespace

void register_pclmul(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_PCLMULQDQ] = &pclmulqdq;
  t[ZYDIS_MNEMONIC_VPCLMULQDQ] = &vpclmulqdq;
}

}  // namespace vireo
