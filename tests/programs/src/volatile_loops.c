/* Volatile accesses the compiler must keep: counted loops, nested loops with volatile bounds,
 * read-modify-write of volatile globals of every width, and do/while with early break. */
#include "common.h"

static volatile int vi;
static volatile unsigned char vb;
static volatile short vs;
static volatile long vl;
static volatile double vd;

int main(void) {
  for (vi = 0; vi < 100000; vi++) vl += vi & 7;
  printf("vi %d vl %ld\n", vi, vl);
  volatile int outer = 300, inner = 300;
  long cells = 0;
  for (int i = 0; i < outer; i++)
    for (int j = 0; j < inner; j++) { vb++; vs -= 3; cells++; }
  printf("cells %ld vb %u vs %d\n", cells, vb, vs);
  for (int i = 0; i < 1000; i++) vd = vd * 0.5 + i;
  printf("vd %.17g\n", vd);
  int n = 0;
  volatile int limit = 77;
  do { n++; if (n == limit) break; } while (1);
  printf("broke at %d\n", n);
  CHECK(vi == 100000 && vl == 350000 && cells == 90000 && n == 77);
  fprintf(stderr, "volatile_loops done\n");
  return finish("volatile_loops");
}
