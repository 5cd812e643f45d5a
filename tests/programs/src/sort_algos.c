/* Hand-written sorts (insertion, merge, quick, heap, radix) on the same generated data; all must
 * agree, and the sorted checksum is printed. */
#include <string.h>
#include "common.h"

enum { N = 10000 };
static uint32_t src[N], a[N], tmp[N];

static void insertion(uint32_t* v, int n) {
  for (int i = 1; i < n; i++) { uint32_t x = v[i]; int j = i - 1; while (j >= 0 && v[j] > x) { v[j + 1] = v[j]; j--; } v[j + 1] = x; }
}
static void merge_sort(uint32_t* v, int n) {
  if (n < 16) { insertion(v, n); return; }
  int h = n / 2;
  merge_sort(v, h);
  merge_sort(v + h, n - h);
  int i = 0, j = h, k = 0;
  while (i < h && j < n) tmp[k++] = v[i] <= v[j] ? v[i++] : v[j++];
  while (i < h) tmp[k++] = v[i++];
  while (j < n) tmp[k++] = v[j++];
  memcpy(v, tmp, (size_t)n * sizeof *v);
}
static void quick(uint32_t* v, int lo, int hi) {
  while (lo < hi) {
    uint32_t p = v[lo + (hi - lo) / 2];
    int i = lo, j = hi;
    while (i <= j) {
      while (v[i] < p) i++;
      while (v[j] > p) j--;
      if (i <= j) { uint32_t t = v[i]; v[i] = v[j]; v[j] = t; i++; j--; }
    }
    if (j - lo < hi - i) { quick(v, lo, j); lo = i; } else { quick(v, i, hi); hi = j; }
  }
}
static void sift(uint32_t* v, int n, int i) {
  for (;;) {
    int l = 2 * i + 1, m = i;
    if (l < n && v[l] > v[m]) m = l;
    if (l + 1 < n && v[l + 1] > v[m]) m = l + 1;
    if (m == i) return;
    uint32_t t = v[i]; v[i] = v[m]; v[m] = t;
    i = m;
  }
}
static void heap(uint32_t* v, int n) {
  for (int i = n / 2 - 1; i >= 0; i--) sift(v, n, i);
  for (int e = n - 1; e > 0; e--) { uint32_t t = v[0]; v[0] = v[e]; v[e] = t; sift(v, e, 0); }
}
static void radix(uint32_t* v, int n) {
  for (int shift = 0; shift < 32; shift += 8) {
    int count[257] = {0};
    for (int i = 0; i < n; i++) count[((v[i] >> shift) & 0xFF) + 1]++;
    for (int i = 0; i < 256; i++) count[i + 1] += count[i];
    for (int i = 0; i < n; i++) tmp[count[(v[i] >> shift) & 0xFF]++] = v[i];
    memcpy(v, tmp, (size_t)n * sizeof *v);
  }
}

int main(void) {
  rng_seed(2024);
  for (int i = 0; i < N; i++) src[i] = (uint32_t)rng_next() % (i % 3 ? 1000000u : 50u);
  uint64_t ref = 0;
  const char* names[] = {"insertion(2000)", "merge", "quick", "heap", "radix"};
  for (int alg = 0; alg < 5; alg++) {
    memcpy(a, src, sizeof a);
    int n = alg == 0 ? 2000 : N;
    switch (alg) {
      case 0: insertion(a, n); break;
      case 1: merge_sort(a, n); break;
      case 2: quick(a, 0, n - 1); break;
      case 3: heap(a, n); break;
      case 4: radix(a, n); break;
    }
    int sorted = 1;
    for (int i = 1; i < n; i++) sorted &= a[i - 1] <= a[i];
    uint64_t h = fnv1a(a, (size_t)n * sizeof a[0]);
    printf("%-16s sorted %d min %u max %u hash %016llx\n", names[alg], sorted, a[0], a[n - 1], (unsigned long long)h);
    CHECK(sorted);
    if (alg == 1) ref = h;
    if (alg > 1) CHECK(h == ref);
  }
  fprintf(stderr, "sort_algos done\n");
  return finish("sort_algos");
}
