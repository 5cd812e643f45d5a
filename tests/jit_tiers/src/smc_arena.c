// A guest JIT's arena (as bench/workloads/codegen.c): N small functions written one after
// another into a 64 KiB RWX arena, 64 bytes apart, reused from its start when full, each
// called CALLS times. The jit checks its pages (docs/jit.md, "Checked pages") after a few write
// faults each, instead of faulting once per function. Usage: smc_arena N CALLS
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 4000, calls = argc > 2 ? atol(argv[2]) : 50;
  const size_t size = 64 << 10;
  uint8_t* arena = mmap(0, size, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (arena == MAP_FAILED) return 1;
  uint32_t seed = 1, sum = 0;
  for (long i = 0; i < n; i++) {
    uint8_t* fn = arena + (size_t)(i % (long)(size / 64)) * 64;
    seed = seed * 1103515245u + 12345u;
    // lea eax, [rdi + imm32] ; xor eax, imm32 ; ret
    uint8_t f[] = {0x8D, 0x87, 0, 0, 0, 0, 0x35, 0, 0, 0, 0, 0xC3};
    uint32_t a = seed, b = seed >> 5;
    memcpy(f + 2, &a, 4);
    memcpy(f + 7, &b, 4);
    memcpy(fn, f, sizeof f);
    for (long k = 0; k < calls; k++) sum += ((uint32_t (*)(uint32_t))fn)((uint32_t)k ^ sum);
  }
  printf("%u\n", sum);
  return 0;
}
