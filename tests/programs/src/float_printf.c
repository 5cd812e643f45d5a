/* Doubles through printf in every format: %f %e %g %a %.17g, widths and flags, special values
 * (inf, nan, -0.0), subnormals, and values at the edges of rounding. */
#include <float.h>
#include <math.h>
#include "common.h"

int main(void) {
  volatile double zero = 0.0;
  double vals[] = {0.0, -0.0, 1.0, -1.5, 0.1, 1.0 / 3.0, 2.0 / 3.0, 123456789.125, 1e-300,
                   1e300, DBL_MAX, DBL_MIN, DBL_MIN / 1024.0, 5e-324, 0.5, 2.5, 1e15 + 0.3,
                   9007199254740993.0, 3.14159265358979323846, 1.0 / zero, -1.0 / zero};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    double v = vals[i];
    printf("[%zu] %f | %e | %g | %a | %.17g | %12.4f | %-12.3e| %+g | %#g\n", i, v, v, v, v, v, v, v,
           v, v);
  }
  double n = zero / zero;
  printf("nan: %f %e %g %a\n", fabs(n), fabs(n), fabs(n), fabs(n));
  printf("rounding: %.0f %.0f %.0f %.0f %.1f %.2f %.3f\n", 0.5, 1.5, 2.5, -0.5, 0.05, 0.125, 1.0005);
  printf("float: %f %a %.9g\n", (double)1.1f, (double)1.1f, (double)FLT_MAX);
  /* Build doubles from arithmetic, not constants, so the SSE unit gets exercised. */
  double s = 0;
  for (int i = 1; i <= 1000; i++) s += 1.0 / ((double)i * i);
  printf("basel partial %.17g\n", s);
  double p = 1;
  for (int i = 0; i < 60; i++) p *= 1.5;
  printf("1.5^60 %.17g %a\n", p, p);
  CHECK(fabs(s - 1.6439345666815615) < 1e-15);
  fprintf(stderr, "stderr %.3e\n", s);
  return finish("float_printf");
}
