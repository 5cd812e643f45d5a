// Code generated at run time, as a guest JIT does: N small functions are emitted into an RWX
// arena (reused from its start when full, so old code is overwritten), each called CALLS times.
// Usage: codegen N CALLS
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static uint8_t* emit_u32(uint8_t* p, uint32_t v) { memcpy(p, &v, 4); return p + 4; }

// f(x) = ((x * a + b) ^ c) rotated left by r, in 32 bits; x in edi, result in eax.
static uint8_t* emit_function(uint8_t* p, uint32_t a, uint32_t b, uint32_t c, uint8_t r) {
  *p++ = 0x69; *p++ = 0xC7; p = emit_u32(p, a);  // imul eax, edi, a
  *p++ = 0x05; p = emit_u32(p, b);               // add eax, b
  *p++ = 0x35; p = emit_u32(p, c);               // xor eax, c
  *p++ = 0xC1; *p++ = 0xC0; *p++ = r;            // rol eax, r
  *p++ = 0xC3;                                   // ret
  return p;
}

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 20000;
  long calls = argc > 2 ? atol(argv[2]) : 1000;
  const size_t arena_size = 256 << 10;
  uint8_t* arena = mmap(0, arena_size, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (arena == MAP_FAILED) return 1;
  uint8_t* cur = arena;
  uint32_t seed = 12345, sum = 0;
  for (long i = 0; i < n; ++i) {
    if (cur + 64 > arena + arena_size) cur = arena;
    uint8_t* fn = cur;
    seed = seed * 1103515245u + 12345u;
    cur = emit_function(cur, seed | 1, seed >> 7, seed * 3, (uint8_t)(seed & 31));
    cur += (64 - (cur - arena) % 64) % 64;  // each function on its own cache line
    uint32_t (*f)(uint32_t) = (uint32_t (*)(uint32_t))fn;
    for (long k = 0; k < calls; ++k) sum += f((uint32_t)k ^ sum);
  }
  printf("%u\n", sum);
  return 0;
}
