// Parallel matrix multiply: N x N doubles, rows split over T threads (argv: N T). Prints a
// checksum so every runner's answer is checked.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static int n, threads;
static double *a, *b, *c;

static void* rows(void* arg) {
  long id = (long)arg;
  for (int i = (int)id; i < n; i += threads)
    for (int k = 0; k < n; k++) {
      double aik = a[i * n + k];
      for (int j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
    }
  return 0;
}

int main(int argc, char** argv) {
  n = argc > 1 ? atoi(argv[1]) : 600;
  threads = argc > 2 ? atoi(argv[2]) : 2;
  a = malloc(sizeof(double) * n * n);
  b = malloc(sizeof(double) * n * n);
  c = calloc((size_t)n * n, sizeof(double));
  for (int i = 0; i < n * n; i++) {
    a[i] = (i % 17) * 0.25;
    b[i] = (i % 13) * 0.5;
  }
  pthread_t t[64];
  for (long i = 0; i < threads; i++) pthread_create(&t[i], 0, rows, (void*)i);
  for (int i = 0; i < threads; i++) pthread_join(t[i], 0);
  double sum = 0;
  for (int i = 0; i < n * n; i++) sum += c[i];
  printf("%.1f\n", sum);
  return 0;
}
