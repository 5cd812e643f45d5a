/* long double (x87 80-bit) arithmetic and formatting: %Lf %Le %Lg %La, strtold, conversions
 * between double and long double, and precision beyond double's 53 bits. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include "common.h"

int main(void) {
  long double third = 1.0L / 3.0L;
  long double vals[] = {0.0L, -0.0L, 1.0L, third, 2.0L / 3.0L, 1e-4000L, 1e4000L, LDBL_MAX,
                        LDBL_MIN, 3.14159265358979323846264338327950288L, 0.1L, 123456789012345678.0L};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    long double v = vals[i];
    printf("[%zu] %Lf | %Le | %Lg | %La | %.21Lg | %30.20Lf\n", i, v, v, v, v, v, v);
  }
  /* 2^63 + 1 is exact in long double (64-bit mantissa) but not in double. */
  volatile long double one = 1.0L;
  long double big = 9223372036854775808.0L + one;
  printf("2^63+1 = %.0Lf as double %.0f\n", big, (double)big);
  CHECK(big - 9223372036854775808.0L == 1.0L);
  long double s = 0;
  for (int i = 1; i <= 2000; i++) s += 1.0L / ((long double)i * i * i);
  printf("zeta3 partial %.21Lg\n", s);
  long double f = 1;
  for (int i = 1; i <= 25; i++) f *= i;
  printf("25! = %.0Lf\n", f);
  const char* strs[] = {"0.1", "1e-4950", "1.18973149535723176502e+4932", "0x1.8p+1", "-inf",
                        "3.141592653589793238462643383279503", "  42.5abc", "1e5000"};
  for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
    char* end;
    long double v = strtold(strs[i], &end);
    printf("strtold(\"%s\") = %.21Lg %La rest \"%s\"\n", strs[i], v, v, end);
  }
  long long ll = (long long)(third * 3e18L);
  unsigned long long ull = (unsigned long long)1.8e19L;
  printf("to int: %lld %llu %d\n", ll, ull, (int)-2.75L);
  printf("from int: %.0Lf %.0Lf\n", (long double)0xFFFFFFFFFFFFFFFFull, (long double)(-9223372036854775807ll - 1));
  printf("compare: %d %d %d\n", third < 0.3333333333333333333334L, third > 0.33333333333333333L, third == third);
  fprintf(stderr, "stderr third %.25Lg\n", third);
  return finish("long_double");
}
