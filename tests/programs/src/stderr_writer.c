/* stdout and stderr interleaving with explicit flushes and raw write(2), unbuffered stderr,
 * and a large stderr volume; exits 3 to show a nonzero status is carried as well. */
#include <string.h>
#include <unistd.h>
#include "common.h"

int main(void) {
  for (int i = 0; i < 5; i++) {
    printf("out %d\n", i);
    fprintf(stderr, "err %d\n", i);
  }
  fflush(stdout);
  const char raw[] = "raw write to fd 2\n";
  CHECK(write(2, raw, strlen(raw)) == (ssize_t)strlen(raw));
  const char raw1[] = "raw write to fd 1\n";
  CHECK(write(1, raw1, strlen(raw1)) == (ssize_t)strlen(raw1));
  for (int i = 0; i < 2000; i++) fprintf(stderr, "bulk stderr line %04d with some padding text\n", i);
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("unbuffered stdout\n");
  fputs("no newline at end of stderr", stderr);
  return 3;
}
