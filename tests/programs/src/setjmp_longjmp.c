/* setjmp/longjmp: non-local exits from nested calls, values preserved in volatile locals,
 * longjmp(…, 0) turning into 1, and a jump-based error recovery loop. */
#include <setjmp.h>
#include "common.h"

static jmp_buf env;
static int depth_reached;

static void dive(int depth, int limit) {
  char pad[128];
  pad[depth % 128] = (char)depth;
  depth_reached = depth + pad[depth % 128] * 0;
  if (depth == limit) longjmp(env, depth);
  dive(depth + 1, limit);
}

static jmp_buf retry_env;
static int attempt(int i) {
  if (i % 3 == 0) longjmp(retry_env, i + 100);
  return i * 2;
}

int main(void) {
  for (int limit = 0; limit < 200; limit += 37) {
    int r = setjmp(env);
    if (r == 0) {
      dive(0, limit);
      printf("not reached\n");
    } else {
      printf("longjmp from depth %d returned %d\n", depth_reached, r);
      CHECK(r == limit || (limit == 0 && r == 1));
    }
  }
  volatile int counter = 0;
  int r = setjmp(env);
  counter++;
  if (r < 5) longjmp(env, r + 1);
  printf("counter %d r %d\n", counter, r);
  CHECK(counter == 6);
  if (setjmp(env) == 0) longjmp(env, 0);
  else printf("longjmp(0) became nonzero\n");
  volatile int sum = 0, errors = 0;
  for (volatile int i = 0; i < 20; i++) {
    int e = setjmp(retry_env);
    if (e) { errors++; fprintf(stderr, "recovered from %d\n", e); continue; }
    sum += attempt(i);
  }
  printf("sum %d errors %d\n", sum, errors);
  CHECK(errors == 7);
  sigjmp_buf senv;
  if (sigsetjmp(senv, 1) == 0) siglongjmp(senv, 9);
  printf("siglongjmp ok\n");
  return finish("setjmp_longjmp");
}
