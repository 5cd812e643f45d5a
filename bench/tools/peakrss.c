// peakrss FD COMMAND...: runs COMMAND with stdout/stderr discarded and prints
// "<exit code> <peak RSS KiB> <seconds> <cpu seconds>" on file descriptor FD. CPU seconds are
// user + system time of the command and every descendant it waited for (exec-heavy workloads).
// A small static launcher, so that the child's peak RSS (which includes the pre-exec image of
// whoever forked it) is not inflated by the Python runner's own memory.
#include <stdio.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  int out = atoi(argv[1]);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open("/dev/null", O_WRONLY);
    dup2(fd, 1);
    dup2(fd, 2);
    close(out);
    execvp(argv[2], argv + 2);
    _exit(127);
  }
  int status;
  struct rusage ru;
  wait4(pid, &status, 0, &ru);
  clock_gettime(CLOCK_MONOTONIC, &b);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  dprintf(out, "%d %ld %.6f %.6f\n", code, ru.ru_maxrss, (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9, cpu);
  return 0;
}
