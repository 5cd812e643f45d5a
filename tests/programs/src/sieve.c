/* Sieve of Eratosthenes (byte array and bit array versions), prime counting and twin primes. */
#include <string.h>
#include "common.h"

enum { LIMIT = 300000 };
static unsigned char comp[LIMIT + 1];
static uint64_t bits[LIMIT / 64 + 1];

int main(void) {
  for (long i = 2; i * i <= LIMIT; i++)
    if (!comp[i]) for (long j = i * i; j <= LIMIT; j += i) comp[j] = 1;
  for (long i = 2; i * i <= LIMIT; i++)
    if (!(bits[i >> 6] >> (i & 63) & 1)) for (long j = i * i; j <= LIMIT; j += i) bits[j >> 6] |= 1ull << (j & 63);
  long count = 0, twins = 0, last = 0, sum = 0, mismatch = 0;
  for (long i = 2; i <= LIMIT; i++) {
    int bit_composite = (int)(bits[i >> 6] >> (i & 63) & 1);
    if (bit_composite != comp[i]) mismatch++;
    if (!comp[i]) { count++; sum += i; if (i - last == 2) twins++; last = i; }
  }
  printf("primes <= %d: %ld, twin pairs %ld, largest %ld, sum %ld\n", LIMIT, count, twins, last, sum);
  printf("first primes:");
  for (int i = 2, n = 0; n < 15; i++) if (!comp[i]) { printf(" %d", i); n++; }
  printf("\n");
  CHECK(count == 25997);
  CHECK(mismatch == 0);
  fprintf(stderr, "sieve done\n");
  return finish("sieve");
}
