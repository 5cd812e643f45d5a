/* Process identity relations, printed as truths rather than numbers: a child's getppid() is the
 * parent's getpid(), fork returns the child's pid, pids are positive, getpgrp/getsid exist. */
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

int main(void) {
  pid_t me = getpid(), parent = getppid();
  printf("pid positive %d, ppid positive %d, distinct %d\n", me > 0, parent > 0, me != parent);
  int fds[2];
  CHECK(pipe(fds) == 0);
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    pid_t info[2] = {getpid(), getppid()};
    if (write(fds[1], info, sizeof info) != sizeof info) _exit(2);
    _exit(0);
  }
  pid_t info[2];
  CHECK(read(fds[0], info, sizeof info) == sizeof info);
  int status;
  CHECK(waitpid(child, &status, 0) == child);
  printf("fork returned child's pid: %d\n", info[0] == child);
  printf("child's parent is us: %d\n", info[1] == me);
  printf("child pid differs from ours: %d\n", info[0] != me);
  CHECK(info[0] == child && info[1] == me);
  printf("getpid stable: %d\n", getpid() == me);
  printf("pgrp positive %d, sid positive %d\n", getpgrp() > 0, getsid(0) > 0);
  printf("uid==euid %d gid==egid %d\n", getuid() == geteuid(), getgid() == getegid());
  fprintf(stderr, "pids done\n");
  return finish("pids");
}
