/* Bit manipulation: popcount, clz/ctz, bswap, rotates, parity, ffs, manual bit reversal and
 * bitfield extraction over generated values. */
#include <inttypes.h>
#include <strings.h>
#include "common.h"

static uint64_t rotl64(uint64_t x, unsigned r) { return (x << (r & 63)) | (x >> ((64 - r) & 63)); }
static uint32_t rotr32(uint32_t x, unsigned r) { return (x >> (r & 31)) | (x << ((32 - r) & 31)); }
static uint32_t rev32(uint32_t x) {
  uint32_t r = 0;
  for (int i = 0; i < 32; i++) { r = (r << 1) | (x & 1); x >>= 1; }
  return r;
}
struct bits { unsigned a : 3, b : 7, c : 13; signed d : 5; unsigned long long e : 40; };

int main(void) {
  rng_seed(42);
  uint64_t acc = 0;
  for (int i = 0; i < 2000; i++) {
    uint64_t x = rng_next();
    if (i % 7 == 0) x &= 0xFFFF;
    if (i % 11 == 0) x <<= 40;
    uint32_t y = (uint32_t)x;
    acc = acc * 131 + (uint64_t)__builtin_popcountll(x);
    if (x) acc += (uint64_t)__builtin_clzll(x) * 3 + (uint64_t)__builtin_ctzll(x) * 5;
    if (y) acc += (uint64_t)__builtin_clz(y) * 7 + (uint64_t)__builtin_ctz(y) * 11;
    acc ^= __builtin_bswap64(x) + __builtin_bswap32(y) + __builtin_bswap16((uint16_t)y);
    acc += rotl64(x, (unsigned)i) ^ rotr32(y, (unsigned)i * 3);
    acc += (uint64_t)__builtin_parityll(x) + (uint64_t)ffs((int)y) + (uint64_t)ffsll((long long)x);
    acc += rev32(y);
    struct bits b = {(unsigned)x, (unsigned)(x >> 3), (unsigned)(x >> 10), (int)(x >> 23) & 15, x >> 20};
    b.d = (signed)(x >> 28);
    acc += b.a + b.b * 3u + b.c * 5u + (uint64_t)(int64_t)b.d + b.e;
  }
  printf("acc %016" PRIx64 "\n", acc);
  printf("popcount(0xF0F0)=%d clz(1)=%d ctz(0x80)=%d bswap32=%08x\n", __builtin_popcount(0xF0F0),
         __builtin_clz(1), __builtin_ctz(0x80), __builtin_bswap32(0x11223344));
  printf("rev32(1)=%08x rotl64=%016" PRIx64 "\n", rev32(1), rotl64(0x8000000000000001ull, 4));
  CHECK(rev32(1) == 0x80000000u);
  CHECK(__builtin_popcountll(0xFFFFFFFFFFFFFFFFull) == 64);
  CHECK(rotl64(0x8000000000000001ull, 4) == 0x18);
  /* Bit tests on a bitmap (bt/bts/btr patterns). */
  uint64_t map[4] = {0};
  for (int i = 0; i < 256; i += 3) map[i / 64] |= 1ull << (i % 64);
  for (int i = 0; i < 256; i += 6) map[i / 64] &= ~(1ull << (i % 64));
  int set = 0;
  for (int i = 0; i < 256; i++) set += (map[i / 64] >> (i % 64)) & 1;
  printf("bitmap set bits %d\n", set);
  CHECK(set == 43);
  fprintf(stderr, "bitops: map[0]=%016" PRIx64 "\n", map[0]);
  return finish("bitops");
}
