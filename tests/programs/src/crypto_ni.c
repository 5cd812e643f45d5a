/* AES-NI, PCLMULQDQ and SHA-NI (legacy SSE encodings) through compiler intrinsics: AES-128
 * key expansion with aeskeygenassist, encryption and decryption (aesimc keys) of the FIPS-197
 * vector and of random blocks, GF(2^128) products with pclmulqdq, SHA-1 and SHA-256 with the
 * SHA extensions; each checked against plain C. Output and status must match a native run. */
#include <immintrin.h>
#include <string.h>

#include "common.h"

#define TGT __attribute__((target("aes,pclmul,sha,sse4.1")))

static int failures;
static void check(int ok, const char* what, uint64_t i) {
  if (!ok) { printf("FAIL %s at %llu\n", what, (unsigned long long)i); failures++; }
}

/* ---- AES, plain C (FIPS-197) ---- */
static uint8_t sbox[256], inv_sbox[256];
static uint8_t gmul(uint8_t a, uint8_t b) {
  uint8_t r = 0;
  while (b) { if (b & 1) r ^= a; a = (uint8_t)((a << 1) ^ (a & 0x80 ? 0x1B : 0)); b >>= 1; }
  return r;
}
static void make_sbox(void) {
  for (int i = 0; i < 256; i++) {
    uint8_t inv = 0;
    for (int j = 1; j < 256 && i; j++) if (gmul((uint8_t)i, (uint8_t)j) == 1) { inv = (uint8_t)j; break; }
    uint8_t s = inv, x = inv;
    for (int k = 0; k < 4; k++) { x = (uint8_t)((x << 1) | (x >> 7)); s ^= x; }
    sbox[i] = s ^ 0x63;
    inv_sbox[sbox[i]] = (uint8_t)i;
  }
}
static void ref_expand(const uint8_t key[16], uint8_t rk[11][16]) {
  static const uint8_t rcon[10] = {1, 2, 4, 8, 16, 32, 64, 128, 0x1B, 0x36};
  memcpy(rk[0], key, 16);
  for (int r = 1; r <= 10; r++) {
    uint8_t t[4] = {sbox[rk[r - 1][13]], sbox[rk[r - 1][14]], sbox[rk[r - 1][15]], sbox[rk[r - 1][12]]};
    t[0] ^= rcon[r - 1];
    for (int i = 0; i < 16; i++) rk[r][i] = rk[r - 1][i] ^ (i < 4 ? t[i] : rk[r][i - 4]);
  }
}
static void ref_encrypt(uint8_t rk[11][16], const uint8_t in[16], uint8_t out[16]) {
  uint8_t s[16], t[16];
  for (int i = 0; i < 16; i++) s[i] = in[i] ^ rk[0][i];
  for (int r = 1; r <= 10; r++) {
    for (int c = 0; c < 4; c++)
      for (int w = 0; w < 4; w++) t[w + 4 * c] = sbox[s[w + 4 * ((c + w) & 3)]];
    if (r < 10)
      for (int c = 0; c < 4; c++) {
        uint8_t* a = t + 4 * c;
        uint8_t b0 = a[0], b1 = a[1], b2 = a[2], b3 = a[3];
        a[0] = gmul(b0, 2) ^ gmul(b1, 3) ^ b2 ^ b3;
        a[1] = b0 ^ gmul(b1, 2) ^ gmul(b2, 3) ^ b3;
        a[2] = b0 ^ b1 ^ gmul(b2, 2) ^ gmul(b3, 3);
        a[3] = gmul(b0, 3) ^ b1 ^ b2 ^ gmul(b3, 2);
      }
    for (int i = 0; i < 16; i++) s[i] = t[i] ^ rk[r][i];
  }
  memcpy(out, s, 16);
}

/* ---- AES with AES-NI ---- */
TGT static __m128i expand_step(__m128i k, __m128i g) {
  g = _mm_shuffle_epi32(g, 0xFF);
  k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
  k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
  k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
  return _mm_xor_si128(k, g);
}
#define EXPAND(i, rc) rk[i] = expand_step(rk[i - 1], _mm_aeskeygenassist_si128(rk[i - 1], rc))
TGT static void ni_expand(const uint8_t key[16], __m128i rk[11], __m128i dk[11]) {
  rk[0] = _mm_loadu_si128((const __m128i*)key);
  EXPAND(1, 0x01); EXPAND(2, 0x02); EXPAND(3, 0x04); EXPAND(4, 0x08); EXPAND(5, 0x10);
  EXPAND(6, 0x20); EXPAND(7, 0x40); EXPAND(8, 0x80); EXPAND(9, 0x1B); EXPAND(10, 0x36);
  dk[0] = rk[10];
  for (int i = 1; i < 10; i++) dk[i] = _mm_aesimc_si128(rk[10 - i]);
  dk[10] = rk[0];
}
TGT static __m128i ni_encrypt(const __m128i rk[11], __m128i b) {
  b = _mm_xor_si128(b, rk[0]);
  for (int i = 1; i < 10; i++) b = _mm_aesenc_si128(b, rk[i]);
  return _mm_aesenclast_si128(b, rk[10]);
}
TGT static __m128i ni_decrypt(const __m128i dk[11], __m128i b) {
  b = _mm_xor_si128(b, dk[0]);
  for (int i = 1; i < 10; i++) b = _mm_aesdec_si128(b, dk[i]);
  return _mm_aesdeclast_si128(b, dk[10]);
}

TGT static void test_aes(void) {
  /* FIPS-197 C.1 */
  uint8_t key[16], pt[16], ct[16];
  for (int i = 0; i < 16; i++) { key[i] = (uint8_t)i; pt[i] = (uint8_t)(i * 0x11); }
  static const uint8_t expect[16] = {0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30,
                                     0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a};
  __m128i rk[11], dk[11];
  ni_expand(key, rk, dk);
  _mm_storeu_si128((__m128i*)ct, ni_encrypt(rk, _mm_loadu_si128((const __m128i*)pt)));
  check(memcmp(ct, expect, 16) == 0, "aes fips-197", 0);
  printf("aes fips-197:");
  for (int i = 0; i < 16; i++) printf(" %02x", ct[i]);
  printf("\n");
  uint64_t h = 0;
  for (int n = 0; n < 2000; n++) {
    for (int i = 0; i < 16; i++) { key[i] = (uint8_t)rng_next(); pt[i] = (uint8_t)rng_next(); }
    uint8_t ref_rk[11][16], ref_ct[16], back[16];
    ref_expand(key, ref_rk);
    ref_encrypt(ref_rk, pt, ref_ct);
    ni_expand(key, rk, dk);
    __m128i c = ni_encrypt(rk, _mm_loadu_si128((const __m128i*)pt));
    _mm_storeu_si128((__m128i*)ct, c);
    _mm_storeu_si128((__m128i*)back, ni_decrypt(dk, c));
    check(memcmp(ct, ref_ct, 16) == 0, "aes encrypt", (uint64_t)n);
    check(memcmp(back, pt, 16) == 0, "aes decrypt", (uint64_t)n);
    h ^= fnv1a(ct, 16) + (uint64_t)n;
  }
  printf("aes random: %016llx\n", (unsigned long long)h);
}

/* ---- carry-less multiplication ---- */
static void ref_clmul(uint64_t a, uint64_t b, uint64_t* lo, uint64_t* hi) {
  *lo = *hi = 0;
  for (int i = 0; i < 64; i++)
    if (a >> i & 1) { *lo ^= b << i; if (i) *hi ^= b >> (64 - i); }
}
TGT static void test_pclmul(void) {
  uint64_t h = 0;
  for (int n = 0; n < 5000; n++) {
    uint64_t a0 = rng_next(), a1 = rng_next(), b0 = rng_next(), b1 = rng_next();
    if (n % 7 == 0) a0 = ~0ull;
    if (n % 11 == 0) b1 = 1ull << 63;
    __m128i a = _mm_set_epi64x((long long)a1, (long long)a0), b = _mm_set_epi64x((long long)b1, (long long)b0);
    __m128i r[4] = {_mm_clmulepi64_si128(a, b, 0x00), _mm_clmulepi64_si128(a, b, 0x01),
                    _mm_clmulepi64_si128(a, b, 0x10), _mm_clmulepi64_si128(a, b, 0x11)};
    uint64_t x[4] = {a0, a1, a0, a1}, y[4] = {b0, b0, b1, b1};
    for (int k = 0; k < 4; k++) {
      uint64_t lo, hi, got[2];
      ref_clmul(x[k], y[k], &lo, &hi);
      _mm_storeu_si128((__m128i*)got, r[k]);
      check(got[0] == lo && got[1] == hi, "pclmulqdq", (uint64_t)n * 4 + (uint64_t)k);
      h ^= fnv1a(got, 16) * (uint64_t)(k + 1);
    }
  }
  printf("pclmulqdq: %016llx\n", (unsigned long long)h);
}

/* ---- SHA-1 and SHA-256, plain C ---- */
static uint32_t rol(uint32_t v, int s) { return (v << s) | (v >> (32 - s)); }
static uint32_t ror(uint32_t v, int s) { return (v >> s) | (v << (32 - s)); }
static uint32_t be32(const uint8_t* p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static void ref_sha1_block(uint32_t st[5], const uint8_t* p) {
  uint32_t w[80], a = st[0], b = st[1], c = st[2], d = st[3], e = st[4];
  for (int i = 0; i < 16; i++) w[i] = be32(p + 4 * i);
  for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  for (int i = 0; i < 80; i++) {
    uint32_t f, k;
    if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
    else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
    else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
    else { f = b ^ c ^ d; k = 0xCA62C1D6; }
    uint32_t t = rol(a, 5) + f + e + k + w[i];
    e = d; d = c; c = rol(b, 30); b = a; a = t;
  }
  st[0] += a; st[1] += b; st[2] += c; st[3] += d; st[4] += e;
}
static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
static void ref_sha256_block(uint32_t st[8], const uint8_t* p) {
  uint32_t w[64], v[8];
  for (int i = 0; i < 16; i++) w[i] = be32(p + 4 * i);
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  memcpy(v, st, sizeof v);
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = v[7] + (ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25)) + ((v[4] & v[5]) ^ (~v[4] & v[6])) + K256[i] + w[i];
    uint32_t t2 = (ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22)) + ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
    memmove(v + 1, v, 7 * sizeof(uint32_t));
    v[4] += t1;
    v[0] = t1 + t2;
  }
  for (int i = 0; i < 8; i++) st[i] += v[i];
}

/* ---- SHA-1 and SHA-256 with the SHA extensions (SDM Vol. 1, 5.17, Intel's white paper) ---- */
TGT static __m128i sha1_4rounds(__m128i abcd, __m128i e, int group) {
  switch (group / 5) {
    case 0: return _mm_sha1rnds4_epu32(abcd, e, 0);
    case 1: return _mm_sha1rnds4_epu32(abcd, e, 1);
    case 2: return _mm_sha1rnds4_epu32(abcd, e, 2);
    default: return _mm_sha1rnds4_epu32(abcd, e, 3);
  }
}
TGT static void ni_sha1_block(uint32_t st[5], const uint8_t* p) {
  const __m128i swap = _mm_set_epi64x(0x0001020304050607ll, 0x08090a0b0c0d0e0fll);
  __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i*)st), 0x1B);
  __m128i e0 = _mm_set_epi32((int)st[4], 0, 0, 0), abcd_save = abcd, e_save = e0, w[20];
  for (int i = 0; i < 4; i++) w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i*)(p + 16 * i)), swap);
  for (int i = 4; i < 20; i++)
    w[i] = _mm_sha1msg2_epu32(_mm_xor_si128(_mm_sha1msg1_epu32(w[i - 4], w[i - 3]), w[i - 2]), w[i - 1]);
  __m128i prev = abcd, e = _mm_add_epi32(e0, w[0]);
  for (int i = 0; i < 20; i++) {
    if (i) e = _mm_sha1nexte_epu32(prev, w[i]);
    prev = abcd;
    abcd = sha1_4rounds(abcd, e, i);
  }
  e0 = _mm_sha1nexte_epu32(prev, e_save);
  abcd = _mm_add_epi32(abcd, abcd_save);
  _mm_storeu_si128((__m128i*)st, _mm_shuffle_epi32(abcd, 0x1B));
  st[4] = (uint32_t)_mm_extract_epi32(e0, 3);
}
TGT static void ni_sha256_block(uint32_t st[8], const uint8_t* p) {
  const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bll, 0x0405060700010203ll);
  __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i*)st), 0xB1);        /* CDAB */
  __m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i*)(st + 4)), 0x1B);   /* EFGH */
  __m128i s0 = _mm_alignr_epi8(tmp, s1, 8);                                          /* ABEF */
  s1 = _mm_blend_epi16(s1, tmp, 0xF0);                                               /* CDGH */
  __m128i s0_save = s0, s1_save = s1, w[16];
  for (int i = 0; i < 4; i++) w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i*)(p + 16 * i)), swap);
  for (int i = 4; i < 16; i++)
    w[i] = _mm_sha256msg2_epu32(
        _mm_add_epi32(_mm_sha256msg1_epu32(w[i - 4], w[i - 3]), _mm_alignr_epi8(w[i - 1], w[i - 2], 4)), w[i - 1]);
  for (int i = 0; i < 16; i++) {
    __m128i wk = _mm_add_epi32(w[i], _mm_loadu_si128((const __m128i*)(K256 + 4 * i)));
    s1 = _mm_sha256rnds2_epu32(s1, s0, wk);
    s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(wk, 0x0E));
  }
  s0 = _mm_add_epi32(s0, s0_save);
  s1 = _mm_add_epi32(s1, s1_save);
  tmp = _mm_shuffle_epi32(s0, 0x1B);                       /* FEBA */
  s1 = _mm_shuffle_epi32(s1, 0xB1);                        /* DCHG */
  _mm_storeu_si128((__m128i*)st, _mm_blend_epi16(tmp, s1, 0xF0));         /* DCBA */
  _mm_storeu_si128((__m128i*)(st + 4), _mm_alignr_epi8(s1, tmp, 8));      /* HGFE */
}

static void test_sha(void) {
  static uint8_t msg[64 * 64];
  for (size_t i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)rng_next();
  uint32_t a1[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0}, b1[5];
  uint32_t a2[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}, b2[8];
  memcpy(b1, a1, sizeof a1);
  memcpy(b2, a2, sizeof a2);
  for (int blk = 0; blk < 64; blk++) {
    ref_sha1_block(a1, msg + 64 * blk);
    ni_sha1_block(b1, msg + 64 * blk);
    ref_sha256_block(a2, msg + 64 * blk);
    ni_sha256_block(b2, msg + 64 * blk);
    check(memcmp(a1, b1, sizeof a1) == 0, "sha1 block", (uint64_t)blk);
    check(memcmp(a2, b2, sizeof a2) == 0, "sha256 block", (uint64_t)blk);
  }
  printf("sha1 state: %08x %08x %08x %08x %08x\n", b1[0], b1[1], b1[2], b1[3], b1[4]);
  printf("sha256 state: %08x %08x %08x %08x %08x %08x %08x %08x\n", b2[0], b2[1], b2[2], b2[3], b2[4], b2[5], b2[6], b2[7]);
}

int main(void) {
  make_sbox();
  test_aes();
  test_pclmul();
  test_sha();
  printf("failures: %d\n", failures);
  return failures ? 1 : 0;
}
