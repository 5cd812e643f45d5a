/* GCC vector extensions (SSE2 at -O2 for x86-64 baseline): integer lanes of 8/16/32/64 bits,
 * float and double lanes, comparisons producing masks, shuffles, and a vectorizable loop
 * (auto-vectorized sums, min/max, saturating-style clamps). */
#include <string.h>
#include "common.h"

typedef int v4si __attribute__((vector_size(16)));
typedef unsigned char v16qu __attribute__((vector_size(16)));
typedef short v8hi __attribute__((vector_size(16)));
typedef long long v2di __attribute__((vector_size(16)));
typedef float v4sf __attribute__((vector_size(16)));
typedef double v2df __attribute__((vector_size(16)));

static void print_v4si(const char* n, v4si v) { printf("%s %d %d %d %d\n", n, v[0], v[1], v[2], v[3]); }

int main(void) {
  volatile int seed = 3;
  v4si a = {1, -2, 3, seed}, b = {10, 20, -30, 40};
  print_v4si("add", a + b);
  print_v4si("mul", a * b);
  print_v4si("shl", a << 3);
  print_v4si("sar", b >> 2);
  print_v4si("cmp", a < b);
  print_v4si("and", a & b);
  v4si idx = {3, 2, 1, 0};
  print_v4si("shuffle", __builtin_shuffle(a, idx));
  v16qu c = {0}, d = {0};
  for (int i = 0; i < 16; i++) { c[i] = (unsigned char)(i * 17); d[i] = (unsigned char)(250 - i * 3); }
  v16qu e = c + d;
  printf("bytes");
  for (int i = 0; i < 16; i++) printf(" %u", e[i]);
  printf("\n");
  v8hi h = {1000, -1000, 32767, -32768, 7, 8, 9, 10};
  v8hi hm = h * (v8hi){3, 3, 2, 2, -1, -1, 100, 1000};
  printf("shorts");
  for (int i = 0; i < 8; i++) printf(" %d", hm[i]);
  printf("\n");
  v2di q = {0x7FFFFFFFFFFFFFFFLL, -5}, q2 = q + (v2di){1, 5};
  printf("quads %llx %lld\n", (unsigned long long)q2[0], q2[1]);
  v4sf f = {1.5f, -2.25f, 3.0f, 0.1f}, g = {0.5f, 4.0f, -1.0f, 0.2f};
  v4sf fr = f * g + f / g;
  printf("floats %a %a %a %a\n", (double)fr[0], (double)fr[1], (double)fr[2], (double)fr[3]);
  v2df x = {1.0 / 3, -7.5}, y = {3.0, 0.5};
  v2df xr = x * y - y;
  printf("doubles %a %a\n", xr[0], xr[1]);
  /* Loops the compiler vectorizes. */
  static int arr[4096];
  static float farr[4096];
  for (int i = 0; i < 4096; i++) { arr[i] = (i * 7919) % 1000 - 500; farr[i] = (float)arr[i] * 0.25f; }
  long sum = 0;
  int mn = arr[0], mx = arr[0];
  float fsum = 0;
  for (int i = 0; i < 4096; i++) { sum += arr[i]; mn = arr[i] < mn ? arr[i] : mn; mx = arr[i] > mx ? arr[i] : mx; }
  for (int i = 0; i < 4096; i++) fsum += farr[i];
  static unsigned char clamp[4096];
  for (int i = 0; i < 4096; i++) clamp[i] = (unsigned char)(arr[i] < 0 ? 0 : arr[i] > 255 ? 255 : arr[i]);
  printf("sum %ld min %d max %d fsum %a clamp hash %016llx\n", sum, mn, mx, (double)fsum, (unsigned long long)fnv1a(clamp, sizeof clamp));
  CHECK(mn == -500 && mx == 499);
  fprintf(stderr, "vectors done\n");
  return finish("vectors");
}
