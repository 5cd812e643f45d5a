/* argv and the environment: print every argument (quoted, with length), selected variables,
 * and setenv/unsetenv/getenv round trips. The harness passes a fixed environment, so only
 * variables it sets are printed. */
#include <string.h>
#include "common.h"

extern char** environ;

int main(int argc, char** argv) {
  printf("argc %d\n", argc);
  for (int i = 1; i < argc; i++) printf("argv[%d] = \"%s\" (%zu)\n", i, argv[i], strlen(argv[i]));
  CHECK(argv[argc] == NULL);
  const char* slash = strrchr(argv[0], '/');
  printf("program name %s\n", slash ? slash + 1 : argv[0]);
  const char* names[] = {"TEST_VAR", "HOME", "LANG", "PATH", "TZ", "NOT_SET_ANYWHERE"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char* v = getenv(names[i]);
    printf("%s=%s\n", names[i], v ? v : "(unset)");
  }
  int n = 0;
  size_t bytes = 0;
  for (char** e = environ; *e; e++) { n++; bytes += strlen(*e); }
  printf("environ: %d entries, %zu bytes\n", n, bytes);
  CHECK(setenv("NEW_VAR", "first", 0) == 0);
  CHECK(setenv("NEW_VAR", "second", 0) == 0);
  printf("NEW_VAR=%s\n", getenv("NEW_VAR"));
  CHECK(setenv("NEW_VAR", "third", 1) == 0);
  printf("NEW_VAR=%s\n", getenv("NEW_VAR"));
  CHECK(unsetenv("TEST_VAR") == 0);
  printf("TEST_VAR after unsetenv: %s\n", getenv("TEST_VAR") ? "still set" : "(unset)");
  fprintf(stderr, "argv_env: %d args\n", argc - 1);
  return finish("argv_env");
}
