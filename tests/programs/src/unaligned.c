/* Unaligned loads and stores of every width at every offset (memcpy-based and packed structs),
 * including accesses that straddle a cache line and a page boundary. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "common.h"

struct __attribute__((packed)) pk { char c; uint64_t q; uint16_t w; uint32_t d; double f; };

int main(void) {
  static unsigned char buf[256];
  for (int i = 0; i < 256; i++) buf[i] = (unsigned char)(i * 37 + 11);
  uint64_t h = 0;
  for (int off = 0; off < 16; off++) {
    uint16_t w; uint32_t d; uint64_t q; double f; float s;
    memcpy(&w, buf + 60 + off, 2); memcpy(&d, buf + 60 + off, 4); memcpy(&q, buf + 60 + off, 8);
    memcpy(&f, buf + 60 + off, 8); memcpy(&s, buf + 62 + off, 4);
    h = h * 1000003 + w + d + q + (uint64_t)(f == f) + (uint64_t)(s == s);
    uint64_t nq = q ^ 0x0102030405060708ull;
    memcpy(buf + 120 + off, &nq, 8);
  }
  printf("unaligned hash %016llx tail %016llx\n", (unsigned long long)h, (unsigned long long)fnv1a(buf, sizeof buf));
  struct pk p[3];
  memset(p, 0, sizeof p);
  for (int i = 0; i < 3; i++) { p[i].c = (char)i; p[i].q = 0x1122334455667788ull * (uint64_t)(i + 1); p[i].w = (uint16_t)(i * 1000); p[i].d = 0xA0B0C0D0u + (uint32_t)i; p[i].f = i + 0.5; }
  uint64_t s = 0;
  for (int i = 0; i < 3; i++) s += p[i].q + p[i].w + p[i].d + (uint64_t)(p[i].f * 2);
  printf("packed size %zu sum %016llx\n", sizeof(struct pk), (unsigned long long)s);
  CHECK(sizeof(struct pk) == 23);
  /* Straddle a page boundary: two pages mapped, accesses crossing the middle. */
  long page = sysconf(_SC_PAGESIZE);
  unsigned char* m = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(m != MAP_FAILED);
  for (int i = -8; i < 8; i++) m[page + i] = (unsigned char)(0xF0 + i);
  for (int off = 1; off < 8; off++) {
    uint64_t q;
    memcpy(&q, m + page - off, 8);
    printf("cross page -%d: %016llx\n", off, (unsigned long long)q);
    q = ~q;
    memcpy(m + page - off, &q, 8);
    memcpy(&q, m + page - off, 8);
    q = ~q;
    memcpy(m + page - off, &q, 8);
  }
  volatile uint32_t* u = (volatile uint32_t*)(void*)(m + page - 2);
  *u = 0xCAFEBABE;
  printf("via misaligned pointer %08x bytes %02x %02x %02x %02x\n", *u, m[page - 2], m[page - 1], m[page], m[page + 1]);
  munmap(m, 2 * (size_t)page);
  fprintf(stderr, "unaligned done\n");
  return finish("unaligned");
}
