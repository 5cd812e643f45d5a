/* mem* and str* functions on every small alignment and a range of lengths (the libc picks SSE2
 * or AVX2 paths by length and alignment), checked against byte-by-byte reference loops. */
#include <string.h>
#include "common.h"

static unsigned char bufa[4096 + 64], bufb[4096 + 64];

static int ref_memcmp(const unsigned char* a, const unsigned char* b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}
static int sign(int v) { return (v > 0) - (v < 0); }

int main(void) {
  static const size_t lens[] = {0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255, 256, 1000, 4000};
  rng_seed(1234);
  uint64_t h = 0;
  int checked = 0;
  for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
    size_t n = lens[li];
    for (size_t sa = 0; sa < 16; sa += 3) {
      for (size_t da = 0; da < 16; da += 5) {
        for (size_t i = 0; i < sizeof bufa; i++) { bufa[i] = (unsigned char)rng_next(); bufb[i] = 0xAA; }
        memcpy(bufb + da, bufa + sa, n);
        CHECK(ref_memcmp(bufb + da, bufa + sa, n) == 0);
        CHECK(da == 0 || bufb[da - 1] == 0xAA);
        CHECK(bufb[da + n] == 0xAA);
        if (n) {
          size_t k = rng_below((uint32_t)n);
          bufb[da + k] ^= 0x40;
          CHECK(sign(memcmp(bufb + da, bufa + sa, n)) == ref_memcmp(bufb + da, bufa + sa, n));
        }
        memset(bufb + da, (int)(n & 0xFF), n);
        for (size_t i = 0; i < n; i++) if (bufb[da + i] != (unsigned char)n) { CHECK(0); break; }
        /* Overlapping moves in both directions. */
        memcpy(bufb, bufa, sizeof bufb);
        memmove(bufb + da + 8, bufb + sa, n);
        h = h * 31 + fnv1a(bufb, n + 64);
        memcpy(bufb, bufa, sizeof bufb);
        memmove(bufb + sa, bufb + sa + da + 1, n);
        h = h * 31 + fnv1a(bufb, n + 64);
        /* String functions: make a NUL-terminated string of printable bytes. */
        char* s = (char*)bufa + sa;
        for (size_t i = 0; i < n; i++) s[i] = (char)('a' + (bufa[sa + i] % 26));
        s[n] = 0;
        CHECK(strlen(s) == n);
        char* c = strchr(s, 'q');
        char* r = strrchr(s, 'q');
        size_t ci = c ? (size_t)(c - s) : n, ri = r ? (size_t)(r - s) : n;
        size_t ref_c = n, ref_r = n;
        for (size_t i = 0; i < n; i++) { if (s[i] == 'q') { if (ref_c == n) ref_c = i; ref_r = i; } }
        CHECK(ci == ref_c && ri == ref_r);
        CHECK(strchr(s, 0) == s + n);
        h = h * 31 + ci * 7 + ri;
        char* t = (char*)bufb + da;
        memcpy(t, s, n + 1);
        CHECK(strcmp(s, t) == 0);
        if (n > 2) {
          t[n / 2] = 'Z';
          CHECK(strcmp(s, t) > 0);
          CHECK(strncmp(s, t, n / 2) == 0);
          CHECK(strncmp(s, t, n / 2 + 1) > 0);
          CHECK(strstr(s, s + n - 2) != NULL);
          h += (size_t)(strstr(s, s + n - 2) - s);
        }
        checked++;
      }
    }
  }
  printf("cases %d hash %016llx\n", checked, (unsigned long long)h);
  printf("strstr: %s|%s|%s\n", strstr("hello world", "o w"), strstr("aaab", "aab"), strstr("abc", "abd") ? "found" : "NULL");
  printf("strcmp signs: %d %d %d\n", sign(strcmp("abc", "abd")), sign(strcmp("b", "abc")), sign(strcmp("", "")));
  printf("strspn %zu strcspn %zu strpbrk %s\n", strspn("aabbcx", "ab"), strcspn("hello, world", ",!"), strpbrk("find-me?", "?-"));
  fprintf(stderr, "string_funcs: %d cases\n", checked);
  return finish("string_funcs");
}
