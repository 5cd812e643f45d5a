/* SHA-256 written from the FIPS 180-4 description: standard test vectors must match, then a
 * hash of generated data fed in irregular chunk sizes (exercises rotates, 32-bit arithmetic
 * and big-endian loads). */
#include <string.h>
#include "common.h"

struct sha256 { uint32_t h[8]; uint8_t buf[64]; size_t len; uint64_t total; };
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
    0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
    0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
    0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
static void block(struct sha256* s, const uint8_t* p) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d; s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}
static void init(struct sha256* s) {
  static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(s->h, iv, sizeof iv);
  s->len = 0;
  s->total = 0;
}
static void update(struct sha256* s, const void* data, size_t n) {
  const uint8_t* p = data;
  s->total += n;
  while (n) {
    size_t take = 64 - s->len < n ? 64 - s->len : n;
    memcpy(s->buf + s->len, p, take);
    s->len += take; p += take; n -= take;
    if (s->len == 64) { block(s, s->buf); s->len = 0; }
  }
}
static void final(struct sha256* s, char hex[65]) {
  uint64_t bits = s->total * 8;
  uint8_t pad = 0x80, zero = 0;
  update(s, &pad, 1);
  while (s->len != 56) update(s, &zero, 1);
  uint8_t lenb[8];
  for (int i = 0; i < 8; i++) lenb[i] = (uint8_t)(bits >> (56 - 8 * i));
  update(s, lenb, 8);
  for (int i = 0; i < 8; i++) snprintf(hex + 8 * i, 9, "%08x", s->h[i]);
}

int main(void) {
  const char* vectors[][2] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"}};
  struct sha256 s;
  char hex[65];
  for (int i = 0; i < 3; i++) {
    init(&s);
    update(&s, vectors[i][0], strlen(vectors[i][0]));
    final(&s, hex);
    printf("sha256(\"%s\") = %s %s\n", vectors[i][0], hex, strcmp(hex, vectors[i][1]) == 0 ? "ok" : "WRONG");
    CHECK(strcmp(hex, vectors[i][1]) == 0);
  }
  init(&s);
  char a[1000];
  memset(a, 'a', sizeof a);
  for (int i = 0; i < 1000; i++) update(&s, a, 1000);
  final(&s, hex);
  printf("sha256(a * 1e6) = %s\n", hex);
  CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);
  static uint8_t data[100000];
  rng_seed(256);
  for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(rng_next() >> 56);
  init(&s);
  for (size_t off = 0, step = 1; off < sizeof data; off += step, step = step * 3 % 257 + 1)
    update(&s, data + off, off + step > sizeof data ? sizeof data - off : step);
  final(&s, hex);
  printf("sha256(generated) = %s\n", hex);
  fprintf(stderr, "sha256 done\n");
  return finish("sha256");
}
