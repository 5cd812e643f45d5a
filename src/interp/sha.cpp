// SHA-NI: sha1rnds4, sha1nexte, sha1msg1, sha1msg2, sha256rnds2 (implicit XMM0), sha256msg1,
// sha256msg2. Legacy SSE encodings only (there are no VEX forms); a misaligned m128 operand
// is #GP as the SDM says (Exceptions Type 4) where the host checks it, taken where the host
// does not (cpu/host_quirks.h: some AMD Zen). Each follows the SDM Vol. 2
// pseudo-code, with the dword numbering A = bits 127:96 ... D = bits 31:0; computed in C++
// (crypto_common.h says why).
#include <Zydis/Mnemonic.h>

#include <bit>
#include <cstdint>

#include "cpu/host_quirks.h"
#include "interp/crypto_common.h"
#include "interp/dispatch.h"

namespace vireo {

namespace {

using W = sse::Lanes<uint32_t>;  // w[0] = bits 31:0 ... w[3] = bits 127:96

using std::rotl;
using std::rotr;

// SHA1RNDS4: four SHA-1 rounds with the function and constant chosen by imm8[1:0].
Xmm sha1rnds4(const Xmm& s1, const Xmm& s2, uint8_t imm) {
  W a = sse::lanes<uint32_t>(s1), w = sse::lanes<uint32_t>(s2);
  static constexpr uint32_t kK[4] = {0x5A827999, 0x6ED9EBA1, 0x8F1BBCDC, 0xCA62C1D6};
  const int fn = imm & 3;
  auto f = [fn](uint32_t b, uint32_t c, uint32_t d) -> uint32_t {
    switch (fn) {
      case 0: return (b & c) ^ (~b & d);
      case 2: return (b & c) ^ (b & d) ^ (c & d);
      default: return b ^ c ^ d;
    }
  };
  uint32_t A = a[3], B = a[2], C = a[1], D = a[0], E = 0;
  const uint32_t Wi[4] = {w[3], w[2], w[1], w[0]};  // W0E (E already added), W1, W2, W3
  for (int i = 0; i < 4; ++i) {
    uint32_t na = f(B, C, D) + rotl(A, 5) + Wi[i] + E + kK[fn];
    E = D;
    D = C;
    C = rotl(B, 30);
    B = A;
    A = na;
  }
  return sse::pack<uint32_t>({D, C, B, A});
}

Xmm sha1nexte(const Xmm& s1, const Xmm& s2) {
  W a = sse::lanes<uint32_t>(s1), b = sse::lanes<uint32_t>(s2);
  b[3] += rotl(a[3], 30);
  return sse::pack<uint32_t>(b);
}

Xmm sha1msg1(const Xmm& s1, const Xmm& s2) {
  W a = sse::lanes<uint32_t>(s1), b = sse::lanes<uint32_t>(s2);
  // W0..W3 = a[3..0], W4 = b[3], W5 = b[2]
  return sse::pack<uint32_t>({b[2] ^ a[0], b[3] ^ a[1], a[0] ^ a[2], a[1] ^ a[3]});
}

Xmm sha1msg2(const Xmm& s1, const Xmm& s2) {
  W a = sse::lanes<uint32_t>(s1), b = sse::lanes<uint32_t>(s2);
  uint32_t w16 = rotl(a[3] ^ b[2], 1);
  uint32_t w17 = rotl(a[2] ^ b[1], 1);
  uint32_t w18 = rotl(a[1] ^ b[0], 1);
  uint32_t w19 = rotl(a[0] ^ w16, 1);
  return sse::pack<uint32_t>({w19, w18, w17, w16});
}

uint32_t big_sigma0(uint32_t a) { return rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22); }
uint32_t big_sigma1(uint32_t e) { return rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25); }
uint32_t small_sigma0(uint32_t w) { return rotr(w, 7) ^ rotr(w, 18) ^ (w >> 3); }
uint32_t small_sigma1(uint32_t w) { return rotr(w, 17) ^ rotr(w, 19) ^ (w >> 10); }

// SHA256RNDS2: two SHA-256 rounds; state C,D,G,H in src1, A,B,E,F in src2, WK in XMM0[63:0].
Xmm sha256rnds2(const Xmm& s1, const Xmm& s2, const Xmm& wk) {
  W x = sse::lanes<uint32_t>(s1), y = sse::lanes<uint32_t>(s2), k = sse::lanes<uint32_t>(wk);
  uint32_t A = y[3], B = y[2], C = x[3], D = x[2], E = y[1], F = y[0], G = x[1], H = x[0];
  for (int i = 0; i < 2; ++i) {
    uint32_t ch = (E & F) ^ (~E & G), maj = (A & B) ^ (A & C) ^ (B & C);
    uint32_t t = ch + big_sigma1(E) + k[i] + H;
    uint32_t na = t + maj + big_sigma0(A), ne = t + D;
    H = G; G = F; F = E; E = ne;
    D = C; C = B; B = A; A = na;
  }
  return sse::pack<uint32_t>({F, E, B, A});
}

Xmm sha256msg1(const Xmm& s1, const Xmm& s2) {
  W a = sse::lanes<uint32_t>(s1), b = sse::lanes<uint32_t>(s2);
  return sse::pack<uint32_t>({a[0] + small_sigma0(a[1]), a[1] + small_sigma0(a[2]),
                              a[2] + small_sigma0(a[3]), a[3] + small_sigma0(b[0])});
}

Xmm sha256msg2(const Xmm& s1, const Xmm& s2) {
  W a = sse::lanes<uint32_t>(s1), b = sse::lanes<uint32_t>(s2);
  uint32_t w16 = a[0] + small_sigma1(b[2]);
  uint32_t w17 = a[1] + small_sigma1(b[3]);
  uint32_t w18 = a[2] + small_sigma1(w16);
  uint32_t w19 = a[3] + small_sigma1(w17);
  return sse::pack<uint32_t>({w16, w17, w18, w19});
}

sse::Align align() {
  static const sse::Align a = host_sha_checks_alignment() ? sse::Align::Required : sse::Align::None;
  return a;
}

template <Xmm (*F)(const Xmm&, const Xmm&)>
void op2(Exec& x, const Insn& in) {
  crypto::legacy2(x, in, F, align());
}

void op_sha1rnds4(Exec& x, const Insn& in) {
  const uint8_t imm = crypto::imm8(in);
  crypto::legacy2(x, in, [imm](const Xmm& a, const Xmm& b) { return sha1rnds4(a, b, imm); }, align());
}

void op_sha256rnds2(Exec& x, const Insn& in) {
  const Xmm wk = x.cpu->xmm[0];  // the implicit third operand (Zydis may show it or not)
  crypto::legacy2(x, in, [&wk](const Xmm& a, const Xmm& b) { return sha256rnds2(a, b, wk); }, align());
}

}  // namespace

void register_sha(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_SHA1RNDS4] = &op_sha1rnds4;
  t[ZYDIS_MNEMONIC_SHA1NEXTE] = &op2<sha1nexte>;
  t[ZYDIS_MNEMONIC_SHA1MSG1] = &op2<sha1msg1>;
  t[ZYDIS_MNEMONIC_SHA1MSG2] = &op2<sha1msg2>;
  t[ZYDIS_MNEMONIC_SHA256RNDS2] = &op_sha256rnds2;
  t[ZYDIS_MNEMONIC_SHA256MSG1] = &op2<sha256msg1>;
  t[ZYDIS_MNEMONIC_SHA256MSG2] = &op2<sha256msg2>;
}

}  // namespace vireo
