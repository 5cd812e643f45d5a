/* AVX and AVX2 through intrinsics (issue 17): the instructions compilers emit for
 * -march=x86-64-v3 code and hand-written kernels use — gathers, masked loads and stores,
 * cross-lane permutes, variable shifts, broadcasts, blends, compares with all 32 predicates,
 * rounding, conversions, dot products, mpsadbw, horizontal ops, movemask and vptest — over
 * edge values, printed as checksums. Native output is the oracle. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t h = 1469598103934665603ull;
static void mix(const void* p, size_t n) {
  const unsigned char* b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
}
#define MIX(v) do { __typeof__(v) t_ = (v); mix(&t_, sizeof t_); } while (0)
static void report(const char* name) {
  printf("%-12s %016llx\n", name, (unsigned long long)h);
  h = 1469598103934665603ull;
}

static float fvals[64];
static double dvals[32];
static int32_t ivals[64];

static void fill(void) {
  static const float fe[] = {0.0f, -0.0f, 1.0f, -1.5f, 2.5f, 3.5f, -2.5f, 1e30f, -1e-30f, 1e-40f,
                             INFINITY, -INFINITY, NAN, 0.49999997f, 8388609.0f, 2147483648.0f};
  uint32_t s = 12345;
  for (int i = 0; i < 64; i++) {
    s = s * 1103515245u + 12345u;
    fvals[i] = (i % 3 == 0) ? fe[(s >> 8) % 16] : (float)((int32_t)(s >> 4) % 100000) / 37.0f;
    ivals[i] = (i % 4 == 0) ? (int32_t)0x80000000u + (i & 3) : (int32_t)(s ^ (s >> 7));
  }
  for (int i = 0; i < 32; i++) dvals[i] = (i % 5 == 0) ? (double)fe[i % 16] : (double)fvals[i] * 1.0000001;
}

static void gathers(void) {
  for (int r = 0; r < 8; r++) {
    __m256i idx = _mm256_and_si256(_mm256_loadu_si256((const __m256i*)(ivals + r * 4)), _mm256_set1_epi32(63));
    __m256i mask = _mm256_loadu_si256((const __m256i*)(ivals + 8 + r * 3));
    MIX(_mm256_i32gather_epi32(ivals, idx, 4));
    MIX(_mm256_mask_i32gather_epi32(_mm256_set1_epi32(-7), ivals, idx, mask, 4));
    MIX(_mm256_i32gather_ps(fvals, idx, 4));
    MIX(_mm256_mask_i32gather_ps(_mm256_set1_ps(9.0f), fvals, idx, _mm256_castsi256_ps(mask), 4));
    __m128i idx4 = _mm_and_si128(_mm256_castsi256_si128(idx), _mm_set1_epi32(31));
    MIX(_mm256_i32gather_pd(dvals, idx4, 8));
    __m256i qidx = _mm256_cvtepi32_epi64(_mm_and_si128(idx4, _mm_set1_epi32(15)));
    MIX(_mm256_i64gather_epi64((const long long*)ivals, qidx, 8));
    MIX(_mm256_i64gather_ps(fvals, qidx, 4));
    MIX(_mm_i32gather_epi32(ivals, idx4, 4));
    MIX(_mm_mask_i64gather_epi32(_mm_set1_epi32(5), ivals, _mm256_castsi256_si128(qidx),
                                 _mm256_castsi256_si128(mask), 4));
  }
  report("gathers");
}

static void masked(void) {
  for (int r = 0; r < 8; r++) {
    __m256i mask = _mm256_loadu_si256((const __m256i*)(ivals + r * 5));
    MIX(_mm256_maskload_epi32(ivals + 8, mask));
    MIX(_mm256_maskload_ps(fvals + r, mask));
    MIX(_mm256_maskload_pd(dvals + r, mask));
    MIX(_mm_maskload_epi64((const long long*)ivals + r, _mm256_castsi256_si128(mask)));
    int32_t out[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    _mm256_maskstore_epi32(out, mask, _mm256_set1_epi32(r * 1000));
    mix(out, sizeof out);
    double dout[4] = {0};
    _mm256_maskstore_pd(dout, mask, _mm256_loadu_pd(dvals + r));
    mix(dout, sizeof dout);
  }
  report("masked");
}

static void permutes(void) {
  for (int r = 0; r < 8; r++) {
    __m256i a = _mm256_loadu_si256((const __m256i*)(ivals + r)), b = _mm256_loadu_si256((const __m256i*)(ivals + 20 + r));
    __m256 f = _mm256_loadu_ps(fvals + r), g = _mm256_loadu_ps(fvals + 30 + r);
    __m256d d = _mm256_loadu_pd(dvals + r);
    MIX(_mm256_permutevar8x32_epi32(a, b));
    MIX(_mm256_permutevar8x32_ps(f, b));
    MIX(_mm256_permute4x64_epi64(a, 0x1B));
    MIX(_mm256_permute4x64_pd(d, 0xD8));
    MIX(_mm256_permute2x128_si256(a, b, 0x21));
    MIX(_mm256_permute2f128_ps(f, g, 0x83));
    MIX(_mm256_permutevar_ps(f, b));
    MIX(_mm256_permute_ps(f, 0x4E));
    MIX(_mm256_permutevar_pd(d, b));
    MIX(_mm256_shuffle_epi8(a, b));
    MIX(_mm256_alignr_epi8(a, b, 5));
    MIX(_mm256_unpackhi_epi16(a, b));
    MIX(_mm256_packs_epi32(a, b));
    MIX(_mm256_packus_epi16(a, b));
    MIX(_mm256_shuffle_ps(f, g, 0x9C));
    MIX(_mm256_insertf128_ps(f, _mm256_castps256_ps128(g), 1));
    MIX(_mm256_extracti128_si256(a, 1));
    MIX(_mm256_inserti128_si256(a, _mm256_castsi256_si128(b), 0));
    MIX(_mm256_blendv_epi8(a, b, _mm256_xor_si256(a, b)));
    MIX(_mm256_blend_epi32(a, b, 0xA5));
    MIX(_mm256_blendv_ps(f, g, _mm256_castsi256_ps(a)));
    MIX(_mm256_blend_pd(d, _mm256_loadu_pd(dvals + 3), 0x6));
    MIX(_mm256_broadcastd_epi32(_mm256_castsi256_si128(a)));
    MIX(_mm256_broadcastb_epi8(_mm256_castsi256_si128(b)));
    MIX(_mm256_broadcastsi128_si256(_mm256_castsi256_si128(b)));
    MIX(_mm256_broadcast_ss(fvals + r));
    MIX(_mm256_broadcast_sd(dvals + r));
    MIX(_mm256_cvtepu8_epi32(_mm256_castsi256_si128(a)));
    MIX(_mm256_cvtepi16_epi64(_mm256_castsi256_si128(b)));
  }
  report("permutes");
}

static void shifts(void) {
  for (int r = 0; r < 8; r++) {
    __m256i a = _mm256_loadu_si256((const __m256i*)(ivals + r));
    __m256i c = _mm256_and_si256(_mm256_loadu_si256((const __m256i*)(ivals + 30 - r)), _mm256_set1_epi32(r < 4 ? 31 : 127));
    MIX(_mm256_sllv_epi32(a, c));
    MIX(_mm256_srlv_epi32(a, c));
    MIX(_mm256_srav_epi32(a, c));
    MIX(_mm256_sllv_epi64(a, c));
    MIX(_mm256_srlv_epi64(a, c));
    MIX(_mm_srav_epi32(_mm256_castsi256_si128(a), _mm256_castsi256_si128(c)));
    MIX(_mm256_slli_epi16(a, r * 3));
    MIX(_mm256_srai_epi32(a, r * 5));
    MIX(_mm256_srl_epi64(a, _mm256_castsi256_si128(c)));
    MIX(_mm256_bslli_epi128(a, 3));
    MIX(_mm256_mulhrs_epi16(a, c));
    MIX(_mm256_maddubs_epi16(a, c));
    MIX(_mm256_sad_epu8(a, c));
    MIX(_mm256_mpsadbw_epu8(a, c, 0x2D));
    MIX(_mm256_mpsadbw_epu8(a, c, 0x12));
    MIX(_mm256_hadds_epi16(a, c));
    MIX(_mm256_sign_epi8(a, c));
    MIX(_mm256_abs_epi32(a));
    MIX(_mm256_mul_epi32(a, c));
    MIX(_mm256_mullo_epi32(a, c));
    MIX(_mm256_cmpgt_epi64(a, c));
    MIX(_mm256_movemask_epi8(a));
    MIX(_mm256_testz_si256(a, c));
    MIX(_mm256_testc_si256(a, c));
    MIX(_mm256_testnzc_si256(a, c));
  }
  report("integer");
}

static void floats(void) {
  for (int r = 0; r < 16; r++) {
    __m256 f = _mm256_loadu_ps(fvals + r), g = _mm256_loadu_ps(fvals + 40 - r);
    __m256d d = _mm256_loadu_pd(dvals + (r & 15)), e = _mm256_loadu_pd(dvals + 27 - (r & 15));
#define CMP(p) MIX(_mm256_cmp_ps(f, g, p)); MIX(_mm256_cmp_pd(d, e, p)); \
               MIX(_mm_cmp_ss(_mm256_castps256_ps128(f), _mm256_castps256_ps128(g), p)); \
               MIX(_mm_cmp_sd(_mm256_castpd256_pd128(d), _mm256_castpd256_pd128(e), p));
    CMP(0) CMP(1) CMP(2) CMP(3) CMP(4) CMP(5) CMP(6) CMP(7) CMP(8) CMP(9) CMP(10) CMP(11)
    CMP(12) CMP(13) CMP(14) CMP(15) CMP(16) CMP(17) CMP(18) CMP(19) CMP(20) CMP(21) CMP(22)
    CMP(23) CMP(24) CMP(25) CMP(26) CMP(27) CMP(28) CMP(29) CMP(30) CMP(31)
    MIX(_mm256_round_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    MIX(_mm256_round_ps(f, _MM_FROUND_TO_NEG_INF));
    MIX(_mm256_round_pd(d, _MM_FROUND_TO_ZERO));
    MIX(_mm256_round_pd(d, _MM_FROUND_CUR_DIRECTION));
    MIX(_mm256_cvtps_epi32(f));
    MIX(_mm256_cvttps_epi32(g));
    MIX(_mm256_cvtpd_epi32(d));
    MIX(_mm256_cvttpd_epi32(e));
    MIX(_mm256_cvtpd_ps(d));
    MIX(_mm256_cvtps_pd(_mm256_castps256_ps128(f)));
    MIX(_mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i*)(ivals + r))));
    MIX(_mm256_cvtepi32_pd(_mm_loadu_si128((const __m128i*)(ivals + r))));
    MIX(_mm256_dp_ps(f, g, 0xF1));
    MIX(_mm256_dp_ps(f, g, 0x3C));
    MIX(_mm_dp_pd(_mm256_castpd256_pd128(d), _mm256_castpd256_pd128(e), 0x31));
    MIX(_mm256_hadd_ps(f, g));
    MIX(_mm256_addsub_pd(d, e));
    MIX(_mm256_sqrt_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), f)));
    MIX(_mm256_div_pd(d, e));
    MIX(_mm256_min_ps(f, g));
    MIX(_mm256_max_pd(d, e));
    MIX(_mm256_rcp_ps(f));
    MIX(_mm256_movemask_ps(f));
    MIX(_mm256_movemask_pd(d));
    MIX(_mm256_testz_ps(f, g));
    MIX(_mm256_testc_pd(d, e));
    MIX(_mm256_movehdup_ps(f));
    MIX(_mm256_movedup_pd(d));
    MIX(_mm_cvtss_si32(_mm256_castps256_ps128(f)));
    MIX(_mm_cvttsd_si64(_mm256_castpd256_pd128(d)));
    MIX(_mm_comilt_ss(_mm256_castps256_ps128(f), _mm256_castps256_ps128(g)));
    MIX(_mm_ucomige_sd(_mm256_castpd256_pd128(d), _mm256_castpd256_pd128(e)));
    MIX(_mm_insert_ps(_mm256_castps256_ps128(f), _mm256_castps256_ps128(g), 0x9A));
    MIX(_mm256_extract_epi32(_mm256_loadu_si256((const __m256i*)(ivals + r)), 5));
    MIX(_mm256_insert_epi16(_mm256_loadu_si256((const __m256i*)(ivals + r)), (short)r, 11));
  }
  report("float");
}

/* Auto-vectorised loops: the compiler's own -march=x86-64-v3 code. */
static void loops(void) {
  static float a[1031], b[1031], c[1031];
  static int32_t ia[1031], ib[1031];
  static uint8_t s[4099];
  for (int i = 0; i < 1031; i++) {
    a[i] = fvals[i & 63] * (float)(i % 7);
    b[i] = fvals[(i * 5) & 63];
    ia[i] = ivals[i & 63] ^ i;
    ib[i] = ivals[(i * 3) & 63];
  }
  for (int i = 0; i < 1031; i++) c[i] = a[i] * b[i] + (a[i] > b[i] ? a[i] : b[i]);
  mix(c, sizeof c);
  long long sum = 0;
  for (int i = 0; i < 1031; i++) sum += (long long)ia[i] * ib[i] + (ia[i] >> (ib[i] & 31));
  MIX(sum);
  for (int i = 0; i < 4099; i++) s[i] = (uint8_t)(i * 7 + (i >> 3));
  unsigned cnt = 0;
  for (int i = 0; i < 4099; i++) cnt += s[i] > 100 ? s[i] - 100 : 0;
  MIX(cnt);
  for (int i = 0; i < 1031; i++) ia[i] = ia[i] < ib[i] ? ia[i] : ib[i];
  mix(ia, sizeof ia);
  report("loops");
}

int main(void) {
  fill();
  gathers();
  masked();
  permutes();
  shifts();
  floats();
  loops();
  _mm256_zeroall();
  return 0;
}
