/* Large and many small allocations: malloc/calloc/realloc/free, growth through realloc (which
 * glibc does with mremap for big blocks), and data integrity across moves. */
#include <string.h>
#include "common.h"

int main(void) {
  enum { MB = 1 << 20 };
  unsigned char* big = malloc(16 * MB);
  CHECK(big != NULL);
  for (size_t i = 0; i < 16 * MB; i += 4096) big[i] = (unsigned char)(i >> 12);
  uint64_t h = 0;
  for (size_t i = 0; i < 16 * MB; i += 4096) h = h * 3 + big[i];
  printf("16 MiB touched, hash %llx\n", (unsigned long long)h);
  size_t sz = 1000;
  unsigned char* p = malloc(sz);
  for (size_t i = 0; i < sz; i++) p[i] = (unsigned char)(i * 7);
  while (sz < 40 * MB) {
    size_t nsz = sz * 3;
    p = realloc(p, nsz);
    CHECK(p != NULL);
    int ok = 1;
    for (size_t i = 0; i < 1000; i++) ok &= p[i] == (unsigned char)(i * 7);
    CHECK(ok);
    memset(p + sz, 0x5A, nsz - sz);
    CHECK(p[nsz - 1] == 0x5A);
    sz = nsz;
  }
  printf("grew to %zu bytes\n", sz);
  p = realloc(p, 100);
  CHECK(p[99] == (unsigned char)(99 * 7));
  free(p);
  free(big);
  unsigned* z = calloc(3 * MB, sizeof *z);
  int allzero = 1;
  for (size_t i = 0; i < 3 * MB; i += 1023) allzero &= z[i] == 0;
  printf("calloc zeroed: %d\n", allzero);
  CHECK(allzero);
  free(z);
  /* Many small blocks with a fixed pattern of frees (fragmentation). */
  enum { K = 20000 };
  static char* blocks[K];
  static size_t sizes[K];
  rng_seed(5);
  long total = 0;
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < K; i++) {
      if (blocks[i] && rng_below(2)) { free(blocks[i]); blocks[i] = NULL; }
      if (!blocks[i]) {
        size_t n = 1 + rng_below(300);
        blocks[i] = malloc(n);
        memset(blocks[i], i & 0xFF, n);
        sizes[i] = n;
        total += (long)n;
      }
    }
  }
  int bad = 0;
  for (int i = 0; i < K; i++) {
    if (blocks[i][0] != (char)(i & 0xFF) || blocks[i][sizes[i] - 1] != (char)(i & 0xFF)) bad++;
    free(blocks[i]);
  }
  printf("small blocks: %ld bytes allocated, %d corrupted\n", total, bad);
  CHECK(bad == 0);
  void* huge = malloc((size_t)1 << 46);
  printf("absurd malloc %s\n", huge ? "succeeded" : "failed as expected");
  free(huge);
  fprintf(stderr, "malloc_large done\n");
  return finish("malloc_large");
}
