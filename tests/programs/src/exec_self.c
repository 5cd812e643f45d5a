/* execve: the program re-executes itself (via argv[0], an absolute path given by the harness)
 * with a different argument list and environment; a forked child execs it too and the parent
 * checks its status. Also execve of a missing file fails with ENOENT. */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "stage2") == 0) {
    printf("stage2: argc %d, args:", argc);
    for (int i = 2; i < argc; i++) printf(" [%s]", argv[i]);
    const char* v = getenv("STAGE");
    printf("\nstage2: STAGE=%s TEST_VAR=%s\n", v ? v : "(unset)", getenv("TEST_VAR") ? "set" : "(unset)");
    return argc == 5 ? 0 : 1;
  }
  if (argc >= 2 && strcmp(argv[1], "child") == 0) {
    printf("child image running\n");
    return 21;
  }
  printf("stage1: exec of a missing file: ");
  char* none[] = {"nothing", NULL};
  errno = 0;
  execve("/nonexistent/program", none, NULL);
  printf("%s\n", errno == ENOENT ? "ENOENT" : "other error");
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    char* args[] = {argv[0], "child", NULL};
    execv(argv[0], args);
    _exit(127);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  printf("stage1: child exec exited %d\n", WEXITSTATUS(status));
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 21);
  fprintf(stderr, "stage1: exec'ing stage2 now\n");
  fflush(stdout);
  char* args[] = {argv[0], "stage2", "with space", "", "last", NULL};
  char* env[] = {"STAGE=two", "PATH=/usr/bin:/bin", NULL};
  execve(argv[0], args, env);
  printf("execve failed\n");
  return 1;
}
