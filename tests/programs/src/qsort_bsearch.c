/* qsort and bsearch with callbacks over ints, doubles, strings and structs (the callback makes
 * libc code call back into program code through a function pointer). */
#include <string.h>
#include "common.h"

struct rec { int key; char name[12]; double w; };
static int cmp_int(const void* a, const void* b) { int x = *(const int*)a, y = *(const int*)b; return (x > y) - (x < y); }
static int cmp_double_desc(const void* a, const void* b) { double x = *(const double*)a, y = *(const double*)b; return (x < y) - (x > y); }
static int cmp_str(const void* a, const void* b) { return strcmp(*(char* const*)a, *(char* const*)b); }
static int calls;
static int cmp_rec(const void* a, const void* b) {
  const struct rec *x = a, *y = b;
  calls++;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return strcmp(x->name, y->name);
}

int main(void) {
  enum { N = 3000 };
  static int ints[N];
  static double dbl[N];
  static struct rec recs[500];
  rng_seed(99);
  for (int i = 0; i < N; i++) { ints[i] = (int)rng_below(100000) - 50000; dbl[i] = (double)(int)rng_below(1000000) / 7.0; }
  qsort(ints, N, sizeof ints[0], cmp_int);
  qsort(dbl, N, sizeof dbl[0], cmp_double_desc);
  for (int i = 1; i < N; i++) { CHECK(ints[i - 1] <= ints[i]); CHECK(dbl[i - 1] >= dbl[i]); }
  printf("ints: min %d median %d max %d hash %016llx\n", ints[0], ints[N / 2], ints[N - 1], (unsigned long long)fnv1a(ints, sizeof ints));
  printf("doubles: first %.6f last %.6f\n", dbl[0], dbl[N - 1]);
  int found = 0, missing = 0;
  for (int k = -50000; k < 50000; k += 37) {
    int* p = bsearch(&k, ints, N, sizeof ints[0], cmp_int);
    if (p) { found++; CHECK(*p == k); } else missing++;
  }
  printf("bsearch found %d missing %d\n", found, missing);
  const char* words[] = {"pear", "apple", "fig", "banana", "cherry", "date", "elderberry", "grape", "kiwi", "lemon", "apple2", "Zebra"};
  enum { W = sizeof words / sizeof words[0] };
  char* ws[W];
  for (int i = 0; i < W; i++) ws[i] = (char*)words[i];
  qsort(ws, W, sizeof ws[0], cmp_str);
  for (int i = 0; i < W; i++) printf("%s%c", ws[i], i + 1 < W ? ' ' : '\n');
  const char* key = "fig";
  char** hit = bsearch(&key, ws, W, sizeof ws[0], cmp_str);
  printf("fig at %d\n", hit ? (int)(hit - ws) : -1);
  for (int i = 0; i < 500; i++) {
    recs[i].key = (int)rng_below(50);
    snprintf(recs[i].name, sizeof recs[i].name, "n%u", rng_below(1000));
    recs[i].w = i * 0.5;
  }
  qsort(recs, 500, sizeof recs[0], cmp_rec);
  for (int i = 1; i < 500; i++) CHECK(cmp_rec(&recs[i - 1], &recs[i]) <= 0);
  printf("recs: %d/%s .. %d/%s\n", recs[0].key, recs[0].name, recs[499].key, recs[499].name);
  fprintf(stderr, "qsort_bsearch: comparator ran (count varies by libc, not printed to stdout)\n");
  return finish("qsort_bsearch");
}
