/* Variadic functions of our own: ints, longs, doubles (passed in XMM registers, with %al
 * counting them), long doubles (on the stack), pointers, va_copy, and more arguments than fit
 * in registers. */
#include <stdarg.h>
#include <string.h>
#include "common.h"

__attribute__((noinline)) static long sum_ints(int n, ...) {
  va_list ap;
  va_start(ap, n);
  long s = 0;
  for (int i = 0; i < n; i++) s += va_arg(ap, int);
  va_end(ap);
  return s;
}
__attribute__((noinline)) static double mixed(const char* fmt, ...) {
  va_list ap, copy;
  va_start(ap, fmt);
  va_copy(copy, ap);
  double s = 0;
  for (const char* p = fmt; *p; p++) {
    switch (*p) {
      case 'i': s += va_arg(ap, int); break;
      case 'l': s += (double)va_arg(ap, long); break;
      case 'd': s += va_arg(ap, double); break;
      case 'L': s += (double)va_arg(ap, long double); break;
      case 's': s += (double)strlen(va_arg(ap, const char*)); break;
    }
  }
  /* Walk the copy again: must see the same values. */
  double s2 = 0;
  for (const char* p = fmt; *p; p++) {
    switch (*p) {
      case 'i': s2 += va_arg(copy, int); break;
      case 'l': s2 += (double)va_arg(copy, long); break;
      case 'd': s2 += va_arg(copy, double); break;
      case 'L': s2 += (double)va_arg(copy, long double); break;
      case 's': s2 += (double)strlen(va_arg(copy, const char*)); break;
    }
  }
  va_end(copy);
  va_end(ap);
  return s == s2 ? s : -1e300;
}
static int my_printf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vprintf(fmt, ap);
  va_end(ap);
  return n;
}
static void log_err(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("log: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
}

int main(void) {
  printf("sum_ints %ld\n", sum_ints(12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, -1000));
  double m = mixed("idlLsdddddddddi", 1, 2.5, 10L, 0.25L, "hello", 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 100);
  printf("mixed %.17g\n", m);
  CHECK(m == 1 + 2.5 + 10 + 0.25 + 5 + 45 + 100);
  int n = my_printf("my_printf: %d %s %.3f %c %Lg %lu\n", -5, "str", 2.0 / 3, 'x', 1.5L, 123456789012ul);
  printf("my_printf wrote %d bytes\n", n);
  char buf[64];
  snprintf(buf, sizeof buf, "%d-%d-%d-%d-%d-%d-%d-%d-%d", 1, 2, 3, 4, 5, 6, 7, 8, 9);
  printf("%s\n", buf);
  log_err("%s %d\n", "varargs to stderr", 7);
  return finish("varargs");
}
