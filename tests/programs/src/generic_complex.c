/* C11 _Generic dispatch on argument type, and complex arithmetic from <complex.h>: multiply,
 * divide (with the special-case handling libgcc's __muldc3/__divdc3 do), cabs, carg, cexp,
 * csqrt, cpow, clog, conj, in float, double and long double. */
#include <complex.h>
#include <math.h>
#include "common.h"

#define type_name(x) _Generic((x), int: "int", long: "long", unsigned: "unsigned", float: "float", double: "double", \
                              long double: "long double", char*: "char*", double complex: "double complex", default: "other")
#define absval(x) _Generic((x), int: abs_i, double: fabs, float: fabsf, long double: fabsl)(x)
static int abs_i(int v) { return v < 0 ? -v : v; }

static void show(const char* what, double complex z) { printf("%-8s %.17g %+.17gi\n", what, creal(z), cimag(z)); }

int main(void) {
  printf("%s %s %s %s %s %s %s %s\n", type_name(1), type_name(1L), type_name(1u), type_name(1.0f), type_name(1.0),
         type_name(1.0L), type_name((char*)0), type_name((short)1));
  printf("absval %d %g %g %Lg\n", absval(-5), absval(-2.5), (double)absval(-1.5f), absval(-0.25L));
  volatile double re = 3, im = -4;
  double complex z = re + im * I, w = 1.5 - 0.5 * I;
  show("z*w", z * w);
  show("z/w", z / w);
  show("conj", conj(z));
  printf("cabs %.17g carg %.17g\n", cabs(z), carg(z));
  show("cexp", cexp(w));
  show("csqrt", csqrt(z));
  show("clog", clog(z));
  show("cpow", cpow(z, w));
  show("csin", csin(w));
  CHECK(cabs(z) == 5.0);
  volatile double inf = INFINITY;
  double complex zi = inf + 1.0 * I;
  double complex prod = zi * w;
  printf("inf*w is infinite: %d\n", isinf(creal(prod)) || isinf(cimag(prod)));
  float complex fz = 1.0f + 2.0f * I;
  fz = fz * fz / (3.0f - 1.0f * I);
  printf("float complex %.9g %+.9gi\n", (double)crealf(fz), (double)cimagf(fz));
  long double complex lz = 1.0L + 1.0L * I;
  lz = csqrtl(lz) * cexpl(lz);
  printf("long double complex %.21Lg %+.21Lgi\n", creall(lz), cimagl(lz));
  fprintf(stderr, "generic_complex done\n");
  return finish("generic_complex");
}
