/* Recursion: Ackermann (deep, irregular call/return), naive Fibonacci, mutual recursion, and a
 * 100000-deep recursion with a real frame per level (exercises the guest stack growth). */
#include "common.h"

static unsigned ack(unsigned m, unsigned n) {
  if (m == 0) return n + 1;
  if (n == 0) return ack(m - 1, 1);
  return ack(m - 1, ack(m, n - 1));
}
static unsigned long fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
static int is_odd(unsigned n);
static int is_even(unsigned n) { return n == 0 ? 1 : is_odd(n - 1); }
static int is_odd(unsigned n) { return n == 0 ? 0 : is_even(n - 1); }
static long deep(long n, volatile char* prev) {
  volatile char frame[48];
  frame[0] = (char)n;
  frame[47] = prev ? prev[0] : 0;
  if (n == 0) return frame[0];
  return deep(n - 1, frame) + frame[47] + (frame[0] & 1);
}

int main(void) {
  for (unsigned m = 0; m <= 3; m++)
    for (unsigned n = 0; n <= (m < 3 ? 6u : 5u); n++) printf("ack(%u,%u)=%u%c", m, n, ack(m, n), n == (m < 3 ? 6u : 5u) ? '\n' : ' ');
  CHECK(ack(3, 5) == 253);
  printf("fib(24)=%lu\n", fib(24));
  CHECK(fib(24) == 46368);
  printf("is_even(10001)=%d\n", is_even(10001));
  long d = deep(100000, 0);
  printf("deep(100000)=%ld\n", d);
  fprintf(stderr, "ackermann done\n");
  return finish("ackermann");
}
