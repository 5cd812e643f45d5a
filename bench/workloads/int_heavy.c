// Integer-heavy: a xorshift-mixed hash chain with multiplies, shifts and data-dependent
// branches — the bread and butter of compiled integer code.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 150000000;
  uint64_t x = 88172645463325252ull, acc = 0;
  for (long i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    uint64_t y = x * 0x9E3779B97F4A7C15ull;
    if (y & 1) acc += y >> 3;
    else acc ^= (y << 5) | (uint64_t)i;
    acc = (acc << 1) | (acc >> 63);
  }
  printf("%llu\n", (unsigned long long)acc);
  return 0;
}
