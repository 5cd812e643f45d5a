/* libm on doubles: trig, exp/log, pow, sqrt, fmod, rounding functions, at ordinary and edge
 * arguments, printed exactly (%a) so any difference in a single bit shows. */
#include <math.h>
#include "common.h"

int main(void) {
  double xs[] = {0.0, 0.5, 1.0, -1.0, 2.0, 3.14159265358979, 10.0, -7.25, 100.5, 1e-10, 1e10, 0.7853981633974483};
  for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
    double x = xs[i];
    printf("x=%a sin=%a cos=%a tan=%a exp=%a\n", x, sin(x), cos(x), tan(x), exp(x));
    printf("  log=%a sqrt=%a pow(x,1.5)=%a pow(1.1,x)=%a\n", x > 0 ? log(x) : 0.0, sqrt(fabs(x)),
           pow(fabs(x), 1.5), pow(1.1, x));
    printf("  fmod(x,0.3)=%a floor=%a ceil=%a round=%a trunc=%a rint=%a\n", fmod(x, 0.3), floor(x),
           ceil(x), round(x), trunc(x), rint(x));
    printf("  atan=%a atan2=%a asin=%a acos=%a sinh=%a tanh=%a\n", atan(x), atan2(x, 2.0),
           asin(x / 200), acos(x / 200), sinh(x / 10), tanh(x));
    printf("  cbrt=%a hypot=%a log10=%a log2=%a exp2=%a expm1=%a log1p=%a\n", cbrt(x), hypot(x, 3.0),
           log10(fabs(x) + 1), log2(fabs(x) + 1), exp2(x / 4), expm1(x / 10), log1p(fabs(x)));
  }
  printf("round half: %g %g %g %g lround=%ld llrint=%lld\n", round(0.5), round(-0.5), round(2.5),
         rint(2.5), lround(-3.5), llrint(1e15 + 0.5));
  printf("special: %g %g %g %d %d\n", fabs(sqrt(-1.0)), log(0.0), exp(1000.0), isnan(sqrt(-1.0)),
         isinf(-log(0.0)));
  int ex;
  double m = frexp(1234.5, &ex);
  printf("frexp %a %d ldexp %a modf ", m, ex, ldexp(0.75, 12));
  double ip, fp = modf(-3.75, &ip);
  printf("%g %g\n", ip, fp);
  printf("fma %a copysign %g nextafter %a\n", fma(0.1, 10.0, -1.0), copysign(3.0, -0.0), nextafter(1.0, 2.0));
  CHECK(sqrt(2.0) * sqrt(2.0) - 2.0 < 1e-15);
  CHECK(floor(-7.25) == -8.0 && ceil(-7.25) == -7.0);
  fprintf(stderr, "libm_double sin(1)=%.17g\n", sin(1.0));
  return finish("libm_double");
}
