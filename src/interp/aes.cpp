// AES-NI (aesenc, aesenclast, aesdec, aesdeclast, aesimc, aeskeygenassist), their VEX.128
// forms, and VAES (VEX.256 vaesenc/vaesenclast/vaesdec/vaesdeclast, one AES round per 128-bit
// lane). Computed from FIPS-197's definitions in C++ (crypto_common.h says why), following the
// SDM Vol. 2 pseudo-code of each instruction.
//
// State layout (SDM Vol. 1, 12.13.2, and FIPS-197 3.4): byte i of the XMM register is the
// state's row i % 4, column i / 4.
#include <Zydis/Mnemonic.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "interp/crypto_common.h"
#include "interp/dispatch.h"

namespace vireo {

namespace {

using Bytes = std::array<uint8_t, 16>;

Bytes bytes_of(const Xmm& v) {
  Bytes b;
  std::memcpy(b.data(), &v, 16);
  return b;
}
Xmm xmm_of(const Bytes& b) {
  Xmm v;
  std::memcpy(&v, b.data(), 16);
  return v;
}

// GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1.
constexpr uint8_t xtime(uint8_t a) { return uint8_t((a << 1) ^ ((a & 0x80) ? 0x1B : 0)); }
constexpr uint8_t gmul(uint8_t a, uint8_t b) {
  uint8_t r = 0;
  for (; b; b >>= 1, a = xtime(a))
    if (b & 1) r ^= a;
  return r;
}
constexpr uint8_t ginv(uint8_t a) {  // a^254 (0 maps to 0)
  uint8_t r = 1;
  for (int i = 0; i < 254; ++i) r = gmul(r, a);
  return a ? r : 0;
}
constexpr uint8_t rotl8(uint8_t v, int s) { return uint8_t((v << s) | (v >> (8 - s))); }

// The S-box: the multiplicative inverse followed by the affine map (FIPS-197 5.1.1), and its
// inverse, computed at compile time.
struct Sboxes {
  uint8_t fwd[256], inv[256];
};
constexpr Sboxes make_sboxes() {
  Sboxes s{};
  for (int i = 0; i < 256; ++i) {
    uint8_t b = ginv(uint8_t(i));
    uint8_t v = uint8_t(b ^ rotl8(b, 1) ^ rotl8(b, 2) ^ rotl8(b, 3) ^ rotl8(b, 4) ^ 0x63);
    s.fwd[i] = v;
    s.inv[v] = uint8_t(i);
  }
  return s;
}
constexpr Sboxes kSbox = make_sboxes();
static_assert(kSbox.fwd[0x00] == 0x63 && kSbox.fwd[0x53] == 0xED && kSbox.inv[0x63] == 0x00);

Bytes shift_rows(const Bytes& s) {  // row r moves r columns left
  Bytes o;
  for (int c = 0; c < 4; ++c)
    for (int r = 0; r < 4; ++r) o[r + 4 * c] = s[r + 4 * ((c + r) & 3)];
  return o;
}
Bytes inv_shift_rows(const Bytes& s) {
  Bytes o;
  for (int c = 0; c < 4; ++c)
    for (int r = 0; r < 4; ++r) o[r + 4 * c] = s[r + 4 * ((c - r + 4) & 3)];
  return o;
}
Bytes sub_bytes(Bytes s, const uint8_t (&box)[256]) {
  for (uint8_t& b : s) b = box[b];
  return s;
}
// Products by the MixColumns coefficients (all below 16), so a round is table lookups.
struct MulTable {
  uint8_t v[16][256];
};
constexpr MulTable make_mul() {
  MulTable t{};
  for (int c = 0; c < 16; ++c)
    for (int a = 0; a < 256; ++a) t.v[c][a] = gmul(uint8_t(a), uint8_t(c));
  return t;
}
constexpr MulTable kMul = make_mul();

// Each column times the fixed polynomial with coefficients m (FIPS-197 5.1.3 and 5.3.3).
Bytes mix_columns(const Bytes& s, const uint8_t (&m)[4]) {
  Bytes o;
  for (int c = 0; c < 4; ++c)
    for (int r = 0; r < 4; ++r) {
      uint8_t v = 0;
      for (int k = 0; k < 4; ++k) v ^= kMul.v[m[(k - r + 4) & 3]][s[k + 4 * c]];
      o[r + 4 * c] = v;
    }
  return o;
}
constexpr uint8_t kMix[4] = {2, 3, 1, 1}, kInvMix[4] = {14, 11, 13, 9};

Xmm xor_key(const Bytes& s, const Xmm& key) { return sse::map2<uint64_t>(xmm_of(s), key, [](uint64_t a, uint64_t b) { return a ^ b; }); }

Xmm enc(const Xmm& st, const Xmm& key) {
  return xor_key(mix_columns(sub_bytes(shift_rows(bytes_of(st)), kSbox.fwd), kMix), key);
}
Xmm enclast(const Xmm& st, const Xmm& key) {
  return xor_key(sub_bytes(shift_rows(bytes_of(st)), kSbox.fwd), key);
}
Xmm dec(const Xmm& st, const Xmm& key) {
  return xor_key(mix_columns(sub_bytes(inv_shift_rows(bytes_of(st)), kSbox.inv), kInvMix), key);
}
Xmm declast(const Xmm& st, const Xmm& key) {
  return xor_key(sub_bytes(inv_shift_rows(bytes_of(st)), kSbox.inv), key);
}
Xmm imc(const Xmm& s) { return xmm_of(mix_columns(bytes_of(s), kInvMix)); }

// AESKEYGENASSIST: SubWord and RotWord of words 1 and 3, RCON = the immediate.
Xmm keygen(const Xmm& s, uint8_t rcon) {
  auto w = sse::lanes<uint32_t>(s);
  auto sub = [](uint32_t v) {
    uint32_t r = 0;
    for (int i = 0; i < 4; ++i) r |= uint32_t(kSbox.fwd[(v >> (8 * i)) & 0xFF]) << (8 * i);
    return r;
  };
  auto rot = [](uint32_t v) { return (v >> 8) | (v << 24); };  // [a0 a1 a2 a3] -> [a1 a2 a3 a0]
  sse::Lanes<uint32_t> r = {sub(w[1]), rot(sub(w[1])) ^ rcon, sub(w[3]), rot(sub(w[3])) ^ rcon};
  return sse::pack<uint32_t>(r);
}

template <Xmm (*F)(const Xmm&, const Xmm&)>
void legacy_round(Exec& x, const Insn& in) {
  crypto::legacy2(x, in, F);
}
template <Xmm (*F)(const Xmm&, const Xmm&)>
void vex_round(Exec& x, const Insn& in) {
  crypto::vex3(x, in, F);
}

void aesimc(Exec& x, const Insn& in) {
  Xmm s = sse::read_src(x, in, in.op[1]);
  sse::xreg(x, in.op[0]) = imc(s);
}
void vaesimc(Exec& x, const Insn& in) { crypto::vex2(x, in, imc); }

void aeskeygenassist(Exec& x, const Insn& in) {
  Xmm s = sse::read_src(x, in, in.op[1]);
  sse::xreg(x, in.op[0]) = keygen(s, crypto::imm8(in));
}
void vaeskeygenassist(Exec& x, const Insn& in) {
  const uint8_t rcon = crypto::imm8(in);
  crypto::vex2(x, in, [rcon](const Xmm& s) { return keygen(s, rcon); });
}

}  // namespace

void register_aes(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_AESENC] = &legacy_round<enc>;
  t[ZYDIS_MNEMONIC_AESENCLAST] = &legacy_round<enclast>;
  t[ZYDIS_MNEMONIC_AESDEC] = &legacy_round<dec>;
  t[ZYDIS_MNEMONIC_AESDECLAST] = &legacy_round<declast>;
  t[ZYDIS_MNEMONIC_AESIMC] = &aesimc;
  t[ZYDIS_MNEMONIC_AESKEYGENASSIST] = &aeskeygenassist;
  t[ZYDIS_MNEMONIC_VAESENC] = &vex_round<enc>;
  t[ZYDIS_MNEMONIC_VAESENCLAST] = &vex_round<enclast>;
  t[ZYDIS_MNEMONIC_VAESDEC] = &vex_round<dec>;
  t[ZYDIS_MNEMONIC_VAESDECLAST] = &vex_round<declast>;
  t[ZYDIS_MNEMONIC_VAESIMC] = &vaesimc;
  t[ZYDIS_MNEMONIC_VAESKEYGENASSIST] = &vaeskeygenassist;
}

}  // namespace vireo
