// An SMC storm: a small function in an RWX page is rewritten and called N times. Under the jit
// each rewrite of translated code is a write fault and an invalidation, until the page is
// demoted to the interpreter tier (src/jit/tiering.h). Usage: smc_storm [REWRITES [CALLS]]: each
// version of the function is called CALLS times (default 1).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 20000;
  long calls = argc > 2 ? atol(argv[2]) : 1;
  unsigned char* p = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 1;
  unsigned long sum = 0;
  for (long i = 0; i < n; ++i) {
    unsigned v = (unsigned)(i * 2654435761u);
    p[0] = 0xB8;  // mov eax, imm32
    memcpy(p + 1, &v, 4);
    p[5] = 0x01;  // add eax, edi
    p[6] = 0xF8;
    p[7] = 0xC3;  // ret
    unsigned (*f)(unsigned) = (unsigned (*)(unsigned))p;
    for (long c = 0; c < calls; ++c) sum += f((unsigned)(i + c));
  }
  printf("%lu\n", sum);
  return 0;
}
