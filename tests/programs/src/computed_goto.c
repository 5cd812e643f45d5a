/* Threaded-code dispatch with GCC's labels-as-values (computed goto, `jmp *reg` from many
 * sites), running a Collatz-length search. */
#include "common.h"

enum { I_LOAD_N, I_IS_ONE, I_IS_EVEN, I_HALF, I_TRIPLE, I_COUNT, I_LOOP, I_DONE };

static long collatz_len(long n) {
  static const int code[] = {I_LOAD_N, I_IS_ONE, I_IS_EVEN, I_HALF, I_COUNT, I_LOOP, I_TRIPLE, I_COUNT, I_LOOP, I_DONE};
  static void* const table[] = {&&load_n, &&is_one, &&is_even, &&half, &&triple, &&count, &&loop, &&done};
  long x = 0, steps = 0;
  int pc = 0;
#define NEXT goto* table[code[pc++]]
  NEXT;
load_n: x = n; NEXT;
is_one: if (x == 1) { pc = 9; } NEXT;
is_even: if (x & 1) pc = 6; NEXT;
half: x >>= 1; NEXT;
triple: x = 3 * x + 1; NEXT;
count: steps++; NEXT;
loop: pc = 1; NEXT;
done: return steps;
#undef NEXT
}

int main(void) {
  long best = 0, best_n = 0, total = 0;
  for (long n = 1; n < 30000; n++) {
    long l = collatz_len(n);
    total += l;
    if (l > best) { best = l; best_n = n; }
  }
  printf("longest collatz below 30000: n=%ld steps=%ld total=%ld\n", best_n, best, total);
  CHECK(collatz_len(27) == 111);
  fprintf(stderr, "computed_goto: collatz(27)=%ld\n", collatz_len(27));
  return finish("computed_goto");
}
