// qsort with a comparison callback: indirect calls and returns dominate.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void* a, const void* b) {
  uint32_t x = *(const uint32_t*)a, y = *(const uint32_t*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000000;
  int rounds = argc > 2 ? atoi(argv[2]) : 3;
  uint32_t* v = malloc(n * sizeof *v);
  uint64_t sum = 0;
  for (int r = 0; r < rounds; r++) {
    uint32_t s = 12345 + r;
    for (long i = 0; i < n; i++) { s = s * 1103515245u + 12345u; v[i] = s; }
    qsort(v, n, sizeof *v, cmp);
    for (long i = 0; i < n; i += n / 100 + 1) sum += v[i];
  }
  printf("%llu\n", (unsigned long long)sum);
  free(v);
  return 0;
}
