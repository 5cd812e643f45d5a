/* Arbitrary-precision arithmetic on 32-bit limbs: 300!, 2^1000, Fibonacci(1000) in decimal,
 * and a multi-limb division check (exercises 64-bit mul/div on carries). */
#include <string.h>
#include "common.h"

enum { LIMBS = 200 };
typedef struct { uint32_t d[LIMBS]; int n; } big;

static void set_small(big* a, uint32_t v) { memset(a, 0, sizeof *a); a->d[0] = v; a->n = 1; }
static void mul_small(big* a, uint32_t m) {
  uint64_t carry = 0;
  for (int i = 0; i < a->n; i++) { uint64_t t = (uint64_t)a->d[i] * m + carry; a->d[i] = (uint32_t)t; carry = t >> 32; }
  if (carry) a->d[a->n++] = (uint32_t)carry;
}
static void add(big* r, const big* a, const big* b) {
  uint64_t carry = 0;
  int n = a->n > b->n ? a->n : b->n;
  for (int i = 0; i < n; i++) { uint64_t t = (uint64_t)a->d[i] + b->d[i] + carry; r->d[i] = (uint32_t)t; carry = t >> 32; }
  r->n = n;
  if (carry) r->d[r->n++] = (uint32_t)carry;
}
static uint32_t div_small(big* a, uint32_t m) {
  uint64_t rem = 0;
  for (int i = a->n - 1; i >= 0; i--) { uint64_t cur = rem << 32 | a->d[i]; a->d[i] = (uint32_t)(cur / m); rem = cur % m; }
  while (a->n > 1 && a->d[a->n - 1] == 0) a->n--;
  return (uint32_t)rem;
}
static void print_big(const char* label, const big* x) {
  big t = *x;
  static char digits[2000];
  int n = 0;
  do {
    uint32_t chunk = div_small(&t, 1000000000u);
    for (int k = 0; k < 9; k++) { digits[n++] = (char)('0' + chunk % 10); chunk /= 10; }
  } while (t.n > 1 || t.d[0]);
  while (n > 1 && digits[n - 1] == '0') n--;
  printf("%s (%d digits): ", label, n);
  for (int i = n - 1; i >= 0; i--) putchar(digits[i]);
  putchar('\n');
}

int main(void) {
  big f;
  set_small(&f, 1);
  for (uint32_t i = 2; i <= 300; i++) mul_small(&f, i);
  print_big("300!", &f);
  big p;
  set_small(&p, 1);
  for (int i = 0; i < 1000; i++) mul_small(&p, 2);
  print_big("2^1000", &p);
  big a, b, c;
  set_small(&a, 0);
  set_small(&b, 1);
  for (int i = 0; i < 1000; i++) { add(&c, &a, &b); a = b; b = c; }
  print_big("fib(1000)", &a);
  big g = f;
  for (uint32_t i = 300; i >= 2; i--) CHECK(div_small(&g, i) == 0);
  printf("300!/300!/.../2 = %u (limbs %d)\n", g.d[0], g.n);
  CHECK(g.n == 1 && g.d[0] == 1);
  fprintf(stderr, "bignum done\n");
  return finish("bignum");
}
