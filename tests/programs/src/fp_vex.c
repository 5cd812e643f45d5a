/* FMA3, F16C, VEX-encoded AES-NI/PCLMULQDQ and VAES/VPCLMULQDQ (256-bit) through compiler
 * intrinsics: fused multiply-adds of every kind over edge values in each MXCSR rounding mode
 * with FTZ/DAZ, their sticky flags, half-precision conversions with every rounding immediate,
 * 256-bit AES rounds and carry-less products checked lane by lane against the 128-bit forms,
 * and an unmasked invalid-operation exception caught as SIGFPE. The FP results are printed as
 * hashes of their bits: they must match a native run exactly.
 * Needs the AVX state and the AVX instructions around the intrinsics (vldmxcsr, vmovups ymm,
 * vextracti128, ...): it joins VIREO_TEST_PROGRAMS with the AVX/AVX2 work (helper/avx). */
#include <immintrin.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>

#include "common.h"

#define TGT __attribute__((target("avx2,fma,f16c,aes,pclmul,vaes,vpclmulqdq")))

static int failures;
static void check(int ok, const char* what, uint64_t i) {
  if (!ok) { printf("FAIL %s at %llu\n", what, (unsigned long long)i); failures++; }
}

static float fedge(void) {
  static const uint32_t e[] = {0, 0x80000000, 0x3F800000, 0xBF800000, 0x7F800000, 0xFF800000,
                               0x7FC00000, 0x7FA00001, 0x00000001, 0x807FFFFF, 0x00800000,
                               0x7F7FFFFF, 0x34000000, 0x3F800001, 0x33800000};
  uint64_t r = rng_next();
  uint32_t b;
  if (r % 4 == 0) b = e[(r >> 8) % (sizeof e / sizeof e[0])];
  else b = ((uint32_t)(r >> 16) & 0x807FFFFF) | (uint32_t)(0x30 + (r >> 40) % 0x1E) << 23;
  float f;
  memcpy(&f, &b, 4);
  return f;
}
static double dedge(void) {
  static const uint64_t e[] = {0, 0x8000000000000000ull, 0x3FF0000000000000ull, 0x7FF0000000000000ull,
                               0xFFF8000000000000ull, 0x7FF4000000000001ull, 1, 0x800FFFFFFFFFFFFFull,
                               0x0010000000000000ull, 0x7FEFFFFFFFFFFFFFull, 0x3CA0000000000000ull,
                               0x3FF0000000000001ull};
  uint64_t r = rng_next(), b;
  if (r % 4 == 0) b = e[(r >> 8) % (sizeof e / sizeof e[0])];
  else b = (rng_next() & 0x800FFFFFFFFFFFFFull) | (0x3C0 + (r >> 40) % 0x80) << 52;
  double d;
  memcpy(&d, &b, 8);
  return d;
}

static uint64_t hash;
static void mix(const void* p, size_t n) { hash = (hash ^ fnv1a(p, n)) * 0x100000001b3ull; }

TGT static void test_fma(void) {
  for (int mode = 0; mode < 16; mode++) {
    /* rounding mode, FTZ, DAZ; all exceptions masked; flags cleared */
    _mm_setcsr(0x1F80 | (unsigned)(mode & 3) << 13 | (mode & 4 ? 0x8000u : 0) | (mode & 8 ? 0x40u : 0));
    uint64_t h0 = hash;
    for (int n = 0; n < 300; n++) {
      float fa[8], fb[8], fc[8];
      double da[4], db[4], dc[4];
      for (int i = 0; i < 8; i++) { fa[i] = fedge(); fb[i] = fedge(); fc[i] = fedge(); }
      for (int i = 0; i < 4; i++) { da[i] = dedge(); db[i] = dedge(); dc[i] = dedge(); }
      if (n % 5 == 0) for (int i = 0; i < 8; i++) fc[i] = -(fa[i] * fb[i]);  /* cancellation */
      if (n % 5 == 1) for (int i = 0; i < 4; i++) dc[i] = -(da[i] * db[i]);
      __m256 A = _mm256_loadu_ps(fa), B = _mm256_loadu_ps(fb), C = _mm256_loadu_ps(fc);
      __m256d AD = _mm256_loadu_pd(da), BD = _mm256_loadu_pd(db), CD = _mm256_loadu_pd(dc);
      __m256 r8[6] = {_mm256_fmadd_ps(A, B, C), _mm256_fmsub_ps(A, B, C), _mm256_fnmadd_ps(A, B, C),
                      _mm256_fnmsub_ps(A, B, C), _mm256_fmaddsub_ps(A, B, C), _mm256_fmsubadd_ps(A, B, C)};
      __m256d r4[6] = {_mm256_fmadd_pd(AD, BD, CD), _mm256_fmsub_pd(AD, BD, CD), _mm256_fnmadd_pd(AD, BD, CD),
                       _mm256_fnmsub_pd(AD, BD, CD), _mm256_fmaddsub_pd(AD, BD, CD), _mm256_fmsubadd_pd(AD, BD, CD)};
      __m128 s[4] = {_mm_fmadd_ss(_mm256_castps256_ps128(A), _mm256_castps256_ps128(B), _mm256_castps256_ps128(C)),
                     _mm_fnmsub_ss(_mm256_castps256_ps128(A), _mm256_castps256_ps128(B), _mm256_castps256_ps128(C)),
                     _mm_fmadd_ps(_mm256_castps256_ps128(A), _mm256_castps256_ps128(C), _mm256_castps256_ps128(B)),
                     _mm_fmsubadd_ps(_mm256_castps256_ps128(C), _mm256_castps256_ps128(B), _mm256_castps256_ps128(A))};
      __m128d sd[2] = {_mm_fmsub_sd(_mm256_castpd256_pd128(AD), _mm256_castpd256_pd128(BD), _mm256_castpd256_pd128(CD)),
                       _mm_fnmadd_pd(_mm256_castpd256_pd128(BD), _mm256_castpd256_pd128(CD), _mm256_castpd256_pd128(AD))};
      mix(r8, sizeof r8);
      mix(r4, sizeof r4);
      mix(s, sizeof s);
      mix(sd, sizeof sd);
      /* the plain C fma() of glibc uses the instruction (or emulates it exactly) */
      float cf = __builtin_fmaf(fa[0], fb[0], fc[0]);
      double cd = __builtin_fma(da[1], db[1], dc[1]);
      mix(&cf, 4);
      mix(&cd, 8);
    }
    unsigned flags = _mm_getcsr() & 0x3F;
    printf("fma mode %2d: %016llx flags %02x\n", mode, (unsigned long long)(hash ^ h0), flags);
  }
  _mm_setcsr(0x1F80);
}

TGT static void test_f16c(void) {
  for (int mode = 0; mode < 8; mode++) {
    _mm_setcsr(0x1F80 | (unsigned)(mode & 3) << 13 | (mode & 4 ? 0x8040u : 0));
    uint64_t h0 = hash;
    for (int n = 0; n < 400; n++) {
      float f[8];
      uint16_t hv[8];
      for (int i = 0; i < 8; i++) { f[i] = fedge(); hv[i] = (uint16_t)rng_next(); }
      if (n % 3 == 0) for (int i = 0; i < 8; i++) f[i] = f[i] * 1e-30f * (float)(n % 7);
      __m256 F = _mm256_loadu_ps(f);
      __m128i r[6] = {_mm256_cvtps_ph(F, 0), _mm256_cvtps_ph(F, 1), _mm256_cvtps_ph(F, 2),
                      _mm256_cvtps_ph(F, 3), _mm256_cvtps_ph(F, 4), _mm_cvtps_ph(_mm256_castps256_ps128(F), 4)};
      __m256 back = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)hv));
      __m128 back4 = _mm_cvtph_ps(r[0]);
      mix(r, sizeof r);
      mix(&back, sizeof back);
      mix(&back4, sizeof back4);
    }
    printf("f16c mode %d: %016llx flags %02x\n", mode, (unsigned long long)(hash ^ h0), _mm_getcsr() & 0x3F);
  }
  _mm_setcsr(0x1F80);
}

TGT static void test_vaes(void) {
  uint64_t h0 = hash;
  for (int n = 0; n < 3000; n++) {
    uint64_t v[8];
    for (int i = 0; i < 8; i++) v[i] = rng_next();
    __m256i a = _mm256_loadu_si256((const __m256i*)v), k = _mm256_loadu_si256((const __m256i*)(v + 4));
    __m128i alo = _mm256_castsi256_si128(a), ahi = _mm256_extracti128_si256(a, 1);
    __m128i klo = _mm256_castsi256_si128(k), khi = _mm256_extracti128_si256(k, 1);
    __m256i r[5] = {_mm256_aesenc_epi128(a, k), _mm256_aesenclast_epi128(a, k), _mm256_aesdec_epi128(a, k),
                    _mm256_aesdeclast_epi128(a, k), (n & 1) ? _mm256_clmulepi64_epi128(a, k, 0x11) : _mm256_clmulepi64_epi128(a, k, 0x00)};
    __m128i lo[5] = {_mm_aesenc_si128(alo, klo), _mm_aesenclast_si128(alo, klo), _mm_aesdec_si128(alo, klo),
                     _mm_aesdeclast_si128(alo, klo), _mm_clmulepi64_si128(alo, klo, 0)};
    __m128i hi[5] = {_mm_aesenc_si128(ahi, khi), _mm_aesenclast_si128(ahi, khi), _mm_aesdec_si128(ahi, khi),
                     _mm_aesdeclast_si128(ahi, khi), _mm_clmulepi64_si128(ahi, khi, 0)};
    for (int j = 0; j < 4; j++) {
      check(!memcmp((char*)&r[j], &lo[j], 16) && !memcmp((char*)&r[j] + 16, &hi[j], 16), "vaes lanes",
            (uint64_t)n * 8 + (uint64_t)j);
    }
    __m128i imc = _mm_aesimc_si128(alo), kg = _mm_aeskeygenassist_si128(ahi, 0x36);
    mix(r, sizeof r);
    mix(&imc, 16);
    mix(&kg, 16);
  }
  printf("vaes/vpclmulqdq: %016llx\n", (unsigned long long)(hash ^ h0));
}

static sigjmp_buf jb;
static volatile int fpe_code;
static void on_fpe(int sig, siginfo_t* si, void* uc) {
  (void)sig; (void)uc;
  fpe_code = si->si_code;
  siglongjmp(jb, 1);
}

TGT static void test_unmasked(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fpe;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGFPE, &sa, NULL);
  static volatile float out = 42.0f;
  uint32_t snan_bits = 0x7FA00000;
  float snan;
  memcpy(&snan, &snan_bits, 4);
  volatile float one = 1.0f;
  if (sigsetjmp(jb, 1) == 0) {
    _mm_setcsr(0x1F80 & ~0x80u);  /* invalid operation unmasked */
    __m128 r = _mm_fmadd_ss(_mm_set_ss(snan), _mm_set_ss(one), _mm_set_ss(one));
    out = _mm_cvtss_f32(r);
    printf("no SIGFPE\n");
  } else {
    printf("SIGFPE si_code %d, destination kept %g, mxcsr flags %02x\n", fpe_code, (double)out,
           _mm_getcsr() & 0x3F);
  }
  _mm_setcsr(0x1F80);
}

int main(void) {
  if (!__builtin_cpu_supports("fma") || !__builtin_cpu_supports("f16c") || !__builtin_cpu_supports("vaes")) {
    printf("CPU lacks FMA, F16C or VAES\n");
    return 2;
  }
  test_fma();
  test_f16c();
  test_vaes();
  test_unmasked();
  printf("hash %016llx failures %d\n", (unsigned long long)hash, failures);
  return failures ? 1 : 0;
}
