/* libm on long doubles (the x87 paths: fsin/fcos/fyl2x/f2xm1/fsqrt/fprem or their software
 * equivalents, depending on the libc). */
#include <math.h>
#include "common.h"

int main(void) {
  long double xs[] = {0.0L, 0.5L, 1.0L, -1.0L, 2.0L, 3.14159265358979323846L, 10.0L, -7.25L, 100.5L, 1e-10L, 12345.678L};
  for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
    long double x = xs[i];
    printf("x=%La sinl=%La cosl=%La tanl=%La\n", x, sinl(x), cosl(x), tanl(x));
    printf("  expl=%La logl=%La sqrtl=%La powl=%La\n", expl(x / 4), x > 0 ? logl(x) : 0.0L,
           sqrtl(fabsl(x)), powl(fabsl(x) + 0.5L, 1.25L));
    printf("  fmodl=%La floorl=%La ceill=%La roundl=%La truncl=%La\n", fmodl(x, 0.3L), floorl(x),
           ceill(x), roundl(x), truncl(x));
    printf("  atan2l=%La log2l=%La exp2l=%La cbrtl=%La\n", atan2l(x, 3.0L), log2l(fabsl(x) + 1),
           exp2l(x / 8), cbrtl(x));
  }
  long double pi = 4 * atanl(1.0L);
  printf("pi=%.21Lg e=%.21Lg sqrt2=%.21Lg\n", pi, expl(1.0L), sqrtl(2.0L));
  CHECK(fabsl(pi - 3.14159265358979323846L) < 1e-18L);
  CHECK(floorl(-7.25L) == -8.0L);
  fprintf(stderr, "libm_long_double: %.5Lf\n", pi);
  return finish("libm_long_double");
}
