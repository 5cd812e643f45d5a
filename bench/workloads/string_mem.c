// String and memory heavy: memcpy/memmove/memset/memcmp/strlen/strchr over varied sizes and
// alignments, as library-bound programs do.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  long rounds = argc > 1 ? atol(argv[1]) : 400000;
  size_t size = 1 << 16;
  char* a = malloc(size + 64);
  char* b = malloc(size + 64);
  uint64_t h = 0;
  for (size_t i = 0; i < size + 64; i++) a[i] = (char)('a' + i % 23);
  a[size + 63] = 0;
  for (long r = 0; r < rounds; r++) {
    size_t len = 64 + (size_t)(r * 7919) % (size - 64);
    size_t off = (size_t)r % 16;
    memcpy(b + off, a + (r % 8), len);
    memmove(b + off + 3, b + off, len / 2);
    h += (uint64_t)memcmp(a, b + off, len / 4 + 1) & 0xff;
    b[off + len] = 0;
    h += strlen(b + off);
    const char* p = strchr(b + off, 'q');
    h += p ? (uint64_t)(p - (b + off)) : 0;
    memset(b, r & 0xff, len / 3);
  }
  printf("%llu\n", (unsigned long long)h);
  free(a);
  free(b);
  return 0;
}
