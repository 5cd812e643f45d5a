/* Integer arithmetic across widths and signedness: add/sub/mul/div/mod, shifts, conversions,
 * and the C rules for negative division (truncation toward zero). */
#include <inttypes.h>
#include <limits.h>
#include "common.h"

static volatile int64_t vals[] = {0, 1, -1, 2, -2, 7, -7, 127, -128, 255, 32767, -32768, 65535,
                                  INT32_MAX, INT32_MIN, UINT32_MAX, INT64_MAX, INT64_MIN + 1,
                                  1234567890123ll, -987654321987ll};
#define NV (sizeof vals / sizeof vals[0])

int main(void) {
  uint64_t h = 0;
  for (size_t i = 0; i < NV; i++) {
    for (size_t j = 0; j < NV; j++) {
      int64_t a = vals[i], b = vals[j];
      uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
      int32_t a32 = (int32_t)a, b32 = (int32_t)b;
      uint32_t ua32 = (uint32_t)a, ub32 = (uint32_t)b;
      int16_t a16 = (int16_t)a, b16 = (int16_t)b;
      int8_t a8 = (int8_t)a, b8 = (int8_t)b;
      uint64_t r[16] = {ua + ub, ua - ub, ua * ub, (uint64_t)(a32 * (int64_t)b32),
                        (uint32_t)(ua32 * ub32), (uint64_t)(int16_t)(a16 * b16),
                        (uint64_t)(int8_t)(a8 + b8), ua ^ (ub << (j % 64)),
                        (uint64_t)(a >> (i % 64)), ua >> (j % 64), ua32 >> (i % 32),
                        (uint64_t)(a32 >> (j % 32)), 0, 0, 0, 0};
      if (b != 0 && !(a == INT64_MIN && b == -1)) {
        r[12] = (uint64_t)(a / b);
        r[13] = (uint64_t)(a % b);
        r[14] = ua / ub;
        r[15] = ua % ub;
      }
      if (b32 != 0 && !(a32 == INT32_MIN && b32 == -1)) {
        r[12] ^= (uint64_t)(a32 / b32) << 1;
        r[13] ^= (uint64_t)(ua32 % ub32) << 2;
      }
      h = h * 31 + fnv1a(r, sizeof r);
    }
  }
  printf("hash %016" PRIx64 "\n", h);
  /* A few results printed in full so a mismatch is readable. */
  int64_t m7 = -7, p2 = 2;
  printf("-7/2=%" PRId64 " -7%%2=%" PRId64 " 7/-2=%" PRId64 " 7%%-2=%" PRId64 "\n", m7 / p2, m7 % p2,
         -m7 / -p2, -m7 % -p2);
  printf("u32 wrap %u %u\n", (unsigned)(UINT32_MAX + vals[1]), (unsigned)(0u - (unsigned)vals[1]));
  printf("sign extend %d %d %" PRId64 "\n", (int)(int8_t)vals[9], (int)(int16_t)vals[12],
         (int64_t)(int32_t)vals[15]);
  printf("mul hi %" PRIu64 "\n", (uint64_t)(((unsigned __int128)(uint64_t)vals[18] * (uint64_t)vals[16]) >> 64));
  CHECK(m7 / p2 == -3 && m7 % p2 == -1);
  CHECK((int64_t)(int32_t)vals[15] == -1);
  long long acc = 1;
  for (int i = 1; i <= 20; i++) acc *= i;
  printf("20! = %lld\n", acc);
  CHECK(acc == 2432902008176640000ll);
  return finish("int_arith");
}
