// MMX instructions on MM registers, and their aliasing with the x87: each result is printed
// and compared with native.
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define BIN(name, insn)                                                               \
  static uint64_t name(uint64_t a, uint64_t b) {                                      \
    uint64_t r;                                                                       \
    __asm__ volatile("movq %1, %%mm0\n\tmovq %2, %%mm1\n\t" insn " %%mm1, %%mm0\n\t" \
                     "movq %%mm0, %0\n\temms"                                         \
                     : "=m"(r) : "m"(a), "m"(b) : "mm0", "mm1");                      \
    return r;                                                                         \
  }
BIN(paddb, "paddb") BIN(paddw, "paddw") BIN(paddd, "paddd") BIN(paddq, "paddq")
BIN(psubb, "psubb") BIN(psubsw, "psubsw") BIN(paddusb, "paddusb") BIN(psubusw, "psubusw")
BIN(pmullw, "pmullw") BIN(pmulhw, "pmulhw") BIN(pmulhuw, "pmulhuw") BIN(pmaddwd, "pmaddwd")
BIN(pmuludq, "pmuludq") BIN(psadbw, "psadbw") BIN(pavgb, "pavgb") BIN(pminsw, "pminsw")
BIN(pmaxub, "pmaxub") BIN(pcmpeqb, "pcmpeqb") BIN(pcmpgtw, "pcmpgtw") BIN(pcmpgtd, "pcmpgtd")
BIN(pand, "pand") BIN(pandn, "pandn") BIN(por, "por") BIN(pxor, "pxor")
BIN(punpcklbw, "punpcklbw") BIN(punpckhwd, "punpckhwd") BIN(punpckldq, "punpckldq")
BIN(punpckhdq, "punpckhdq") BIN(packsswb, "packsswb") BIN(packssdw, "packssdw")
BIN(packuswb, "packuswb") BIN(psllw, "psllw") BIN(psrad, "psrad") BIN(psrlq, "psrlq")
BIN(pshufb, "pshufb") BIN(phaddw, "phaddw") BIN(phsubd, "phsubd") BIN(pmaddubsw, "pmaddubsw")
BIN(pmulhrsw, "pmulhrsw") BIN(psignb, "psignb") BIN(pabsw, "pabsw")

static uint64_t shifts_imm(uint64_t a) {
  uint64_t r;
  __asm__ volatile("movq %1, %%mm2\n\tpsllq $3, %%mm2\n\tpsraw $2, %%mm2\n\tpsrld $1, %%mm2\n\t"
                   "movq %%mm2, %0\n\temms" : "=m"(r) : "m"(a) : "mm2");
  return r;
}
static uint64_t shuffles(uint64_t a, uint64_t b) {
  uint64_t r;
  __asm__ volatile("movq %1, %%mm3\n\tmovq %2, %%mm4\n\tpshufw $0x1b, %%mm3, %%mm3\n\t"
                   "palignr $3, %%mm4, %%mm3\n\tmovl $0xabcd, %%eax\n\tpinsrw $2, %%eax, %%mm3\n\t"
                   "movq %%mm3, %0\n\temms" : "=m"(r) : "m"(a), "m"(b) : "mm3", "mm4", "eax");
  return r;
}
static uint32_t extracts(uint64_t a) {
  uint32_t w, m;
  __asm__ volatile("movq %2, %%mm5\n\tpextrw $3, %%mm5, %0\n\tpmovmskb %%mm5, %1\n\temms"
                   : "=r"(w), "=r"(m) : "m"(a) : "mm5");
  return w << 8 | m;
}
static void movs(uint64_t a, uint64_t out[3]) {
  uint64_t gpr;
  uint32_t low;
  __asm__ volatile("movq %3, %%mm6\n\tmovq %%mm6, %0\n\tmovd %%mm6, %1\n\t"
                   "movq2dq %%mm6, %%xmm2\n\tmovdq2q %%xmm2, %%mm7\n\tmovq %%mm7, %2\n\temms"
                   : "=r"(gpr), "=r"(low), "=m"(out[2]) : "m"(a) : "mm6", "mm7", "xmm1", "xmm2");
  out[0] = gpr;
  out[1] = low;
}
static void maskmov(uint64_t data, uint64_t mask, uint8_t buf[8]) {
  __asm__ volatile("movq %1, %%mm0\n\tmovq %2, %%mm1\n\tmaskmovq %%mm1, %%mm0\n\temms"
                   : : "D"(buf), "m"(data), "m"(mask) : "mm0", "mm1", "memory");
}
static void conversions(void) {
  float f[4] = {1.5f, -2.5f, 3.25f, 1e10f};
  int32_t i2[2] = {7, -9};
  uint64_t r1, r2;
  float out[4];
  __asm__ volatile("movups %2, %%xmm0\n\tcvtps2pi %%xmm0, %%mm0\n\tcvttps2pi %%xmm0, %%mm1\n\t"
                   "movq %%mm0, %0\n\tmovq %%mm1, %1\n\temms"
                   : "=m"(r1), "=m"(r2) : "m"(f) : "xmm0", "mm0", "mm1");
  printf("cvtps2pi %016llx cvttps2pi %016llx\n", (unsigned long long)r1, (unsigned long long)r2);
  __asm__ volatile("movups %1, %%xmm3\n\tcvtpi2ps %2, %%xmm3\n\tmovups %%xmm3, %0"
                   : "=m"(out) : "m"(f), "m"(i2) : "xmm3");
  printf("cvtpi2ps %g %g %g %g\n", out[0], out[1], out[2], out[3]);
}
// After MMX writes, the x87 sees the values as NaN-like 0xFFFF-exponent numbers, TOP is 0 and
// every tag is valid; after emms every tag is empty.
static void aliasing(void) {
  unsigned char env[108];
  uint64_t v = 0x0123456789abcdefULL;
  __asm__ volatile("movq %1, %%mm3\n\tfnsave %0\n\tfrstor %0" : "=m"(env) : "m"(v) : "mm3");
  uint16_t sw, tw;
  memcpy(&sw, env + 4, 2);
  memcpy(&tw, env + 8, 2);
  uint16_t exp3;
  memcpy(&exp3, env + 28 + 3 * 10 + 8, 2);
  printf("after movq: fsw %04x ftw %04x R3 exp %04x\n", sw, tw, exp3);
  __asm__ volatile("emms\n\tfnstenv %0" : "=m"(env));
  memcpy(&tw, env + 8, 2);
  printf("after emms: ftw %04x\n", tw);
  double d = 1.25;
  __asm__ volatile("fldl %1\n\tfldl %1\n\tfaddp\n\tfstpl %0" : "=m"(d) : "m"(d));
  printf("x87 still works after emms: %g\n", d);
}

int main(void) {
  const uint64_t A = 0x8001ff7f12345678ULL, B = 0x7fff0180fedcba98ULL, C = 0x0000000300000010ULL;
  struct { const char* n; uint64_t (*f)(uint64_t, uint64_t); uint64_t b; } t[] = {
    {"paddb", paddb, B}, {"paddw", paddw, B}, {"paddd", paddd, B}, {"paddq", paddq, B},
    {"psubb", psubb, B}, {"psubsw", psubsw, B}, {"paddusb", paddusb, B}, {"psubusw", psubusw, B},
    {"pmullw", pmullw, B}, {"pmulhw", pmulhw, B}, {"pmulhuw", pmulhuw, B}, {"pmaddwd", pmaddwd, B},
    {"pmuludq", pmuludq, B}, {"psadbw", psadbw, B}, {"pavgb", pavgb, B}, {"pminsw", pminsw, B},
    {"pmaxub", pmaxub, B}, {"pcmpeqb", pcmpeqb, A}, {"pcmpgtw", pcmpgtw, B}, {"pcmpgtd", pcmpgtd, B},
    {"pand", pand, B}, {"pandn", pandn, B}, {"por", por, B}, {"pxor", pxor, B},
    {"punpcklbw", punpcklbw, B}, {"punpckhwd", punpckhwd, B}, {"punpckldq", punpckldq, B},
    {"punpckhdq", punpckhdq, B}, {"packsswb", packsswb, B}, {"packssdw", packssdw, B},
    {"packuswb", packuswb, B}, {"psllw", psllw, C}, {"psrad", psrad, C}, {"psrlq", psrlq, C},
    {"pshufb", pshufb, B}, {"phaddw", phaddw, B}, {"phsubd", phsubd, B},
    {"pmaddubsw", pmaddubsw, B}, {"pmulhrsw", pmulhrsw, B}, {"psignb", psignb, B}, {"pabsw", pabsw, B},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; ++i)
    printf("%-10s %016llx\n", t[i].n, (unsigned long long)t[i].f(A, t[i].b));
  printf("shifts     %016llx\n", (unsigned long long)shifts_imm(A));
  printf("shuffles   %016llx\n", (unsigned long long)shuffles(A, B));
  printf("extracts   %08x\n", extracts(A));
  uint64_t m[3];
  movs(A, m);
  printf("movs       %016llx %016llx %016llx\n", (unsigned long long)m[0], (unsigned long long)m[1],
         (unsigned long long)m[2]);
  uint8_t buf[8] = {0};
  maskmov(A, 0x8000800080008000ULL, buf);
  for (int i = 0; i < 8; ++i) printf("%02x", buf[i]);
  printf(" maskmovq\n");
  conversions();
  aliasing();
  return 0;
}
