/* Matrix multiply in double, float and int (ijk and blocked ikj orders must agree), plus a
 * Gaussian elimination solve with partial pivoting. */
#include <math.h>
#include <string.h>
#include "common.h"

enum { N = 48 };
static double A[N][N], B[N][N], C1[N][N], C2[N][N];
static float Af[N][N], Bf[N][N], Cf[N][N];
static int Ai[N][N], Bi[N][N], Ci[N][N];

int main(void) {
  rng_seed(11);
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      A[i][j] = (double)(int)rng_below(2001) / 1000.0 - 1.0;
      B[i][j] = (double)(int)rng_below(2001) / 1000.0 - 1.0;
      Af[i][j] = (float)A[i][j]; Bf[i][j] = (float)B[i][j];
      Ai[i][j] = (int)rng_below(200) - 100; Bi[i][j] = (int)rng_below(200) - 100;
    }
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      double s = 0; float sf = 0; int si = 0;
      for (int k = 0; k < N; k++) { s += A[i][k] * B[k][j]; sf += Af[i][k] * Bf[k][j]; si += Ai[i][k] * Bi[k][j]; }
      C1[i][j] = s; Cf[i][j] = sf; Ci[i][j] = si;
    }
  memset(C2, 0, sizeof C2);
  for (int i = 0; i < N; i++)
    for (int k = 0; k < N; k++) { double a = A[i][k]; for (int j = 0; j < N; j++) C2[i][j] += a * B[k][j]; }
  double maxdiff = 0, trace = 0, tracef = 0;
  long tracei = 0;
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < N; j++) maxdiff = fmax(maxdiff, fabs(C1[i][j] - C2[i][j]));
    trace += C1[i][i]; tracef += Cf[i][i]; tracei += Ci[i][i];
  }
  printf("trace double %.15g float %.7g int %ld\n", trace, tracef, tracei);
  printf("C[3][5]=%a C[47][0]=%a Cf[1][1]=%a\n", C1[3][5], C1[47][0], (double)Cf[1][1]);
  printf("orders agree within 1e-12: %d\n", maxdiff < 1e-12);
  CHECK(maxdiff < 1e-12);
  /* Solve A x = b where b = A * ones; x should come back as ones. */
  static double M[N][N + 1];
  for (int i = 0; i < N; i++) { double s = 0; for (int j = 0; j < N; j++) { M[i][j] = A[i][j]; s += A[i][j]; } M[i][N] = s; }
  for (int c = 0; c < N; c++) {
    int p = c;
    for (int r = c + 1; r < N; r++) if (fabs(M[r][c]) > fabs(M[p][c])) p = r;
    for (int k = 0; k <= N; k++) { double t = M[c][k]; M[c][k] = M[p][k]; M[p][k] = t; }
    for (int r = c + 1; r < N; r++) { double f = M[r][c] / M[c][c]; for (int k = c; k <= N; k++) M[r][k] -= f * M[c][k]; }
  }
  double x[N], err = 0;
  for (int i = N - 1; i >= 0; i--) { double s = M[i][N]; for (int k = i + 1; k < N; k++) s -= M[i][k] * x[k]; x[i] = s / M[i][i]; err = fmax(err, fabs(x[i] - 1)); }
  printf("solve: x[0]=%.15f max error < 1e-9: %d\n", x[0], err < 1e-9);
  fprintf(stderr, "matmul done\n");
  return finish("matmul");
}
