/* Floating-point environment and conversions: rounding modes (fesetround) applied to rint and
 * arithmetic, exception flags (divide-by-zero, inexact, invalid, overflow, underflow),
 * truncating and rounding float->int conversions, int->float rounding, float<->double. */
#include <fenv.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include "common.h"

static volatile double one = 1.0, three = 3.0, zero = 0.0, big = 1e308, tiny = 1e-308;

int main(void) {
  const int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
  const char* names[] = {"nearest", "upward", "downward", "towardzero"};
  for (int m = 0; m < 4; m++) {
    CHECK(fesetround(modes[m]) == 0);
    volatile double q = one / three;
    volatile float qf = (float)one / (float)three;
    printf("%-10s 1/3=%a f=%a rint(2.5)=%g rint(-2.5)=%g nearbyint(3.7)=%g lrint(-3.5)=%ld\n", names[m], q, (double)qf,
           rint(2.5), rint(-2.5), nearbyint(3.7), lrint(-3.5));
    CHECK(fegetround() == modes[m]);
  }
  fesetround(FE_TONEAREST);
  feclearexcept(FE_ALL_EXCEPT);
  volatile double r = one / zero;
  printf("1/0=%g divbyzero %d\n", r, fetestexcept(FE_DIVBYZERO) != 0);
  feclearexcept(FE_ALL_EXCEPT);
  r = one / three;
  printf("inexact %d\n", fetestexcept(FE_INEXACT) != 0);
  feclearexcept(FE_ALL_EXCEPT);
  r = zero / zero;
  printf("invalid %d\n", fetestexcept(FE_INVALID) != 0);
  feclearexcept(FE_ALL_EXCEPT);
  r = big * 10;
  printf("overflow %d\n", fetestexcept(FE_OVERFLOW) != 0);
  feclearexcept(FE_ALL_EXCEPT);
  r = tiny * tiny;
  printf("underflow %d\n", fetestexcept(FE_UNDERFLOW) != 0);
  feclearexcept(FE_ALL_EXCEPT);
  printf("no flags after clear %d\n", fetestexcept(FE_ALL_EXCEPT) == 0);
  volatile double ds[] = {2.5, -2.5, 2.9999999, -0.9, 1e10, 2147483647.0, -2147483648.0, 4294967295.0, 9.2e18};
  for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
    double d = ds[i];
    long long ll = (long long)d;
    int in = (d >= INT_MIN && d <= INT_MAX) ? (int)d : 0;
    unsigned long long ull = d >= 0 ? (unsigned long long)d : 0;
    printf("d=%.10g (int)%d (ll)%lld (ull)%llu llround %lld (float)%a\n", d, in, ll, ull, llround(d), (double)(float)d);
  }
  volatile long long lls[] = {9007199254740993LL, -9007199254740993LL, LLONG_MAX, 16777217};
  volatile unsigned long long ulls[] = {18446744073709551615ull, 9223372036854775809ull, 12345};
  for (size_t i = 0; i < 4; i++) printf("ll %lld -> double %a float %a\n", lls[i], (double)lls[i], (double)(float)lls[i]);
  for (size_t i = 0; i < 3; i++) printf("ull %llu -> double %a float %a\n", ulls[i], (double)ulls[i], (double)(float)ulls[i]);
  volatile float fmin = FLT_MIN;
  printf("float subnormal %a double->float round %a\n", (double)(fmin / 8), (double)(float)0.1);
  fprintf(stderr, "fenv_conv done\n");
  return finish("fenv_conv");
}
