/* BMI2 and ADX through compiler intrinsics and the instructions themselves: Morton codes with
 * pdep/pext, bit-field extraction with bzhi, flag-free shifts and rotates, and a 512x512-bit
 * multiplication with mulx and two interleaved carry chains (adcx/adox), each checked against
 * plain C. Output and status must match a native run. */
#include <immintrin.h>
#include <string.h>

#include "common.h"

#define TGT __attribute__((target("bmi2,adx")))

static int failures;
static void check(int ok, const char* what, uint64_t i) {
  if (!ok) { printf("FAIL %s at %llu\n", what, (unsigned long long)i); failures++; }
}

static uint64_t ref_pdep(uint64_t src, uint64_t mask) {
  uint64_t r = 0;
  for (int b = 0; b < 64; b++)
    if (mask >> b & 1) { if (src & 1) r |= 1ull << b; src >>= 1; }
  return r;
}
static uint64_t ref_pext(uint64_t src, uint64_t mask) {
  uint64_t r = 0;
  int k = 0;
  for (int b = 0; b < 64; b++)
    if (mask >> b & 1) r |= (src >> b & 1) << k++;
  return r;
}

TGT static uint64_t morton2(uint32_t x, uint32_t y) {
  return _pdep_u64(x, 0x5555555555555555ull) | _pdep_u64(y, 0xAAAAAAAAAAAAAAAAull);
}

TGT static void morton_and_masks(void) {
  uint64_t h = 0;
  for (uint64_t i = 0; i < 20000; i++) {
    uint64_t a = rng_next(), m = rng_next() & rng_next();
    uint64_t d = _pdep_u64(a, m), e = _pext_u64(a, m);
    check(d == ref_pdep(a, m) && e == ref_pext(a, m), "pdep/pext", i);
    uint32_t d32 = _pdep_u32((uint32_t)a, (uint32_t)m), e32 = _pext_u32((uint32_t)a, (uint32_t)m);
    check(d32 == (uint32_t)ref_pdep((uint32_t)a, (uint32_t)m) && e32 == (uint32_t)ref_pext((uint32_t)a, (uint32_t)m), "pdep32/pext32", i);
    uint32_t x = (uint32_t)a, y = (uint32_t)(a >> 32);
    uint64_t z = morton2(x, y);
    check(_pext_u64(z, 0x5555555555555555ull) == x && _pext_u64(z, 0xAAAAAAAAAAAAAAAAull) == y, "morton", i);
    h = h * 31 + z + d + e;
  }
  printf("morton/pdep/pext hash %016llx\n", (unsigned long long)h);
}

TGT static void fields_and_shifts(void) {
  uint64_t h = 0;
  for (uint64_t i = 0; i < 20000; i++) {
    uint64_t v = rng_next();
    unsigned n = (unsigned)(rng_next() & 0xFF);
    uint64_t z = _bzhi_u64(v, n);
    uint64_t want = n >= 64 ? v : (v & ((1ull << n) - 1));
    check(z == want, "bzhi", i);
    uint64_t sl, sr, sa, ro;
    uint32_t sl32;
    __asm__("shlx %2, %1, %0" : "=r"(sl) : "r"(v), "r"((uint64_t)n));
    __asm__("shrx %2, %1, %0" : "=r"(sr) : "r"(v), "r"((uint64_t)n));
    __asm__("sarx %2, %1, %0" : "=r"(sa) : "r"(v), "r"((uint64_t)n));
    __asm__("shlx %2, %1, %0" : "=r"(sl32) : "r"((uint32_t)v), "r"((uint32_t)n));
    __asm__("rorx $17, %1, %0" : "=r"(ro) : "r"(v));
    check(sl == v << (n & 63) && sr == v >> (n & 63) &&
          sa == (uint64_t)((int64_t)v >> (n & 63)) && sl32 == (uint32_t)v << (n & 31) &&
          ro == (v >> 17 | v << 47), "shifts", i);
    h = h * 31 + z + sl + sr + sa + ro + sl32;
  }
  printf("bzhi/shifts hash %016llx\n", (unsigned long long)h);
}

/* r[0..15] = a[0..7] * b[0..7]: per row, mulx products added with adcx (the low halves) and
 * adox (the high halves) — the two carry chains the ADX extension exists for. */
TGT static void mul512_adx(const uint64_t* a, const uint64_t* b, uint64_t* r) {
  memset(r, 0, 16 * sizeof *r);
  for (int i = 0; i < 8; i++) {
    uint64_t carry_hi = 0;
    for (int j = 0; j < 8; j++) {
      uint64_t lo, hi;
      __asm__("mulx %3, %0, %1" : "=r"(lo), "=r"(hi) : "d"(a[i]), "rm"(b[j]));
      /* r[i+j] += lo (CF chain); r[i+j+1] += hi (OF chain), both carried into the next j. */
      uint64_t s0 = r[i + j], s1 = r[i + j + 1];
      __asm__("xor %%eax, %%eax\n\t"          /* clears CF and OF */
              "adcx %[lo], %[s0]\n\t"
              "adox %[hi], %[s1]\n\t"
              "setc %%al\n\t"
              "seto %%ah\n\t"
              "movzbl %%al, %%ecx\n\t"
              "movzbl %%ah, %%eax\n\t"
              "add %%rcx, %[s1]\n\t"          /* the CF chain's carry lands one word up */
              "adc $0, %%rax\n\t"
              "mov %%rax, %[c]"
              : [s0] "+r"(s0), [s1] "+r"(s1), [c] "=r"(carry_hi)
              : [lo] "r"(lo), [hi] "r"(hi)
              : "rax", "rcx", "cc");
      r[i + j] = s0;
      r[i + j + 1] = s1;
      for (int k = i + j + 2; carry_hi && k < 16; k++) { r[k] += carry_hi; carry_hi = r[k] < carry_hi; }
    }
  }
}

static void mul512_ref(const uint64_t* a, const uint64_t* b, uint64_t* r) {
  memset(r, 0, 16 * sizeof *r);
  for (int i = 0; i < 8; i++) {
    unsigned __int128 c = 0;
    for (int j = 0; j < 8; j++) {
      c += (unsigned __int128)a[i] * b[j] + r[i + j];
      r[i + j] = (uint64_t)c;
      c >>= 64;
    }
    r[i + 8] = (uint64_t)c;
  }
}

static void bignum(void) {
  uint64_t h = 0;
  for (uint64_t i = 0; i < 3000; i++) {
    uint64_t a[8], b[8], r1[16], r2[16];
    for (int k = 0; k < 8; k++) {
      a[k] = (i & 3) == 0 ? ~0ull : rng_next();
      b[k] = (i & 7) == 1 ? ~0ull : rng_next();
    }
    mul512_adx(a, b, r1);
    mul512_ref(a, b, r2);
    check(memcmp(r1, r2, sizeof r1) == 0, "mul512", i);
    h ^= fnv1a(r1, sizeof r1) + i;
  }
  printf("mul512 hash %016llx\n", (unsigned long long)h);
}

int main(void) {
  rng_seed(42);
  morton_and_masks();
  fields_and_shifts();
  bignum();
  printf("failures %d\n", failures);
  return failures ? 1 : 0;
}
