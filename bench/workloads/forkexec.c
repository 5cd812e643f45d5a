// fork + exec + wait of a small program, N times: what every shell pipeline and `make` pays.
// Usage: forkexec N PROGRAM [ARGS...]
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  int n = atoi(argv[1]);
  for (int i = 0; i < n; ++i) {
    pid_t p = fork();
    if (p == 0) {
      execv(argv[2], argv + 2);
      _exit(127);
    }
    int st;
    if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      printf("child %d failed\n", i);
      return 1;
    }
  }
  printf("%d\n", n);
  return 0;
}
