// A function called N times from a loop: the jit's dispatcher reaches its first block exactly
// N times (every call ends a block, under --no-follow-calls), which the tier tests count.
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) unsigned tier_step(unsigned x) { return x * 2654435761u + 1; }

int main(int argc, char** argv) {
  unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 1000, s = 0;
  for (unsigned i = 0; i < n; ++i) s = tier_step(s);
  printf("%u\n", s);
  return 0;
}
