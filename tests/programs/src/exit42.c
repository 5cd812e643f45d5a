/* Exit status propagation: prints to both streams, runs an atexit handler, and exits 42. */
#include <stdlib.h>
#include "common.h"

static void bye(void) { printf("atexit handler ran\n"); }

int main(void) {
  atexit(bye);
  printf("about to exit with 42\n");
  fprintf(stderr, "stderr before exit\n");
  exit(42);
}
