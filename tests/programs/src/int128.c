/* 128-bit integer multiply/divide/modulo (libgcc __divti3/__udivti3/__modti3) and the overflow
 * builtins on several widths. */
#include <inttypes.h>
#include <string.h>
#include "common.h"

typedef unsigned __int128 u128;
typedef __int128 s128;

static void print_u128(const char* label, u128 v) {
  char buf[64];
  int i = 63;
  buf[i] = 0;
  do { buf[--i] = (char)('0' + (int)(v % 10)); v /= 10; } while (v);
  printf("%s%s\n", label, buf + i);
}
static void print_s128(const char* label, s128 v) {
  if (v < 0) {
    char l[64];
    snprintf(l, sizeof l, "%s-", label);
    print_u128(l, -(u128)v);
  } else {
    print_u128(label, (u128)v);
  }
}

int main(void) {
  u128 f = 1;
  for (int i = 1; i <= 34; i++) f *= (u128)i;
  print_u128("34! = ", f);
  /* 34! = 295232799039604140847618609643520000000 */
  CHECK(f / ((u128)1 << 64) == 16004602105385757826ull);
  u128 big = ((u128)0xFEDCBA9876543210ull << 64) | 0x0123456789ABCDEFull;
  u128 divs[] = {3, 10, 0xFFFFFFFFull, 0x100000000ull, 0xFFFFFFFFFFFFFFFFull, (u128)1 << 64,
                 ((u128)1 << 100) + 12345, big - 1};
  for (size_t i = 0; i < sizeof divs / sizeof divs[0]; i++) {
    u128 q = big / divs[i], r = big % divs[i];
    CHECK(q * divs[i] + r == big);
    CHECK(r < divs[i]);
    printf("div %zu: q=%016" PRIx64 "%016" PRIx64 " r=%016" PRIx64 "%016" PRIx64 "\n", i,
           (uint64_t)(q >> 64), (uint64_t)q, (uint64_t)(r >> 64), (uint64_t)r);
  }
  s128 sn = -(s128)big / 7;
  print_s128("signed div: ", sn);
  print_s128("signed mod: ", -(s128)(big >> 1) % 1000000007);
  CHECK((-(s128)(big >> 1)) % 1000000007 < 0);

  /* Overflow builtins. */
  int ri;
  long long rll;
  unsigned ru;
  unsigned char uc;
  printf("add_overflow int: %d", __builtin_add_overflow(0x7fffffff, 1, &ri));
  printf(" -> %d\n", ri);
  printf("sub_overflow unsigned: %d", __builtin_sub_overflow(0u, 1u, &ru));
  printf(" -> %u\n", ru);
  printf("mul_overflow ll: %d", __builtin_mul_overflow(3037000500ll, 3037000500ll, &rll));
  printf(" -> %lld\n", rll);
  printf("mul_overflow ll small: %d", __builtin_mul_overflow(3037000499ll, 3037000499ll, &rll));
  printf(" -> %lld\n", rll);
  printf("add_overflow uchar: %d", __builtin_add_overflow(200, 100, &uc));
  printf(" -> %u\n", uc);
  s128 r128;
  printf("mul_overflow s128: %d\n", __builtin_mul_overflow((s128)1 << 100, (s128)1 << 27, &r128));
  printf("mul_overflow s128 ok: %d\n", __builtin_mul_overflow((s128)1 << 100, (s128)1 << 26, &r128));
  volatile int64_t a = INT64_MIN, b = -1;
  int64_t r64;
  printf("mul_overflow INT64_MIN*-1: %d\n", __builtin_mul_overflow(a, b, &r64));
  fprintf(stderr, "stderr: big high word %016" PRIx64 "\n", (uint64_t)(big >> 64));
  return finish("int128");
}
