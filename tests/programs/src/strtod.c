/* strtod/strtof on decimal, hex, special and malformed inputs, with end-pointer positions, and
 * a %.17g round trip for generated values. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"

int main(void) {
  const char* strs[] = {"0", "-0", "1", "0.1", "1e23", "8.98846567431158e307", "2.2250738585072011e-308",
                        "4.9406564584124654e-324", "2.4703282292062328e-324", "1e-400", "1e400",
                        "0x1p-1074", "0x1.fffffffffffffp1023", "inf", "-Infinity", "nan", "  +3.5e+2xyz",
                        ".5", "5.", "e5", "", "0x", "123456789012345678901234567890",
                        "0.30000000000000004", "1.7976931348623157e308", "1.7976931348623159e308"};
  for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
    char* end;
    errno = 0;
    double d = strtod(strs[i], &end);
    int e = errno;
    float f = strtof(strs[i], NULL);
    printf("\"%s\": %.17g %a consumed=%d erange=%d float=%.9g\n", strs[i], isnan(d) ? fabs(d) : d,
           isnan(d) ? fabs(d) : d, (int)(end - strs[i]), e == ERANGE, isnan(f) ? fabsf(f) : f);
  }
  rng_seed(7);
  int bad = 0;
  for (int i = 0; i < 3000; i++) {
    uint64_t bits = rng_next();
    double d;
    memcpy(&d, &bits, sizeof d);
    if (isnan(d)) continue;
    char buf[64];
    snprintf(buf, sizeof buf, "%.17g", d);
    double back = strtod(buf, NULL);
    if (memcmp(&back, &d, sizeof d) != 0) bad++;
    if (i % 500 == 0) printf("rt %s\n", buf);
  }
  printf("round trip failures %d\n", bad);
  CHECK(bad == 0);
  CHECK(strtod("0x1p-1074", NULL) == 5e-324);
  fprintf(stderr, "strtod done\n");
  return finish("strtod");
}
