/* Helpers shared by the test programs: a fixed-seed generator (so data is the same on every run
 * and every libc) and a checksum for printing large results compactly. */
#ifndef VIREO_TEST_COMMON_H
#define VIREO_TEST_COMMON_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static inline void rng_seed(uint64_t s) { rng_state = s ? s : 1; }
/* xorshift64*: good enough for test data, and identical everywhere (unlike rand()). */
static inline uint64_t rng_next(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}
static inline uint32_t rng_below(uint32_t n) { return (uint32_t)(rng_next() >> 32) % n; }

/* FNV-1a over bytes. */
static inline uint64_t fnv1a(const void* p, size_t n) {
  const unsigned char* b = (const unsigned char*)p;
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 0x100000001b3ull; }
  return h;
}

/* Self-checks count failures; main returns a status built from the count so that a wrong
 * answer shows both in the output and in the exit status. */
static int check_failures = 0;
#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      check_failures++;                                                          \
      fprintf(stderr, "CHECK failed at line %d: %s\n", __LINE__, #cond);         \
    }                                                                            \
  } while (0)
static inline int finish(const char* name) {
  fprintf(stderr, "%s: %s (%d failed checks)\n", name, check_failures ? "FAIL" : "ok", check_failures);
  return check_failures ? 1 : 0;
}
#endif
