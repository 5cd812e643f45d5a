/* Terminal and fd ioctls on a pseudo-terminal pair: TIOCGPTN/TIOCSPTLCK (through
 * grantpt/unlockpt/ptsname), TCGETS/TCSETS (tcgetattr/tcsetattr), TIOCGWINSZ/TIOCSWINSZ,
 * FIONREAD, TIOCOUTQ, FIONBIO, TIOCGPGRP on a terminal that is not ours, and ENOTTY for a
 * terminal ioctl on a pipe. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "api_test.h"

int main(void) {
  time_bound(20);
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0) {
    printf("no pseudo-terminals here (%s)\n", strerror(errno));
    return finish("tty_ioctl");
  }
  OK(grantpt(master));
  OK(unlockpt(master));
  char* name = ptsname(master);
  printf("ptsname under /dev/pts/: %d\n", name && strncmp(name, "/dev/pts/", 9) == 0);
  int slave = (int)OK(open(name, O_RDWR | O_NOCTTY));
  printf("isatty: master %d slave %d pipe-like stdin %d\n", isatty(master), isatty(slave), isatty(0));

  struct termios t;
  OK(tcgetattr(slave, &t));
  printf("slave starts canonical with echo: %d\n", (t.c_lflag & (ICANON | ECHO)) == (ICANON | ECHO));
  cfmakeraw(&t);
  OK(tcsetattr(slave, TCSANOW, &t));
  struct termios back;
  OK(tcgetattr(slave, &back));
  printf("raw mode set: %d\n", (back.c_lflag & (ICANON | ECHO)) == 0);

  struct winsize ws = {.ws_row = 33, .ws_col = 101};
  OK(ioctl(master, TIOCSWINSZ, &ws));
  struct winsize got;
  OK(ioctl(slave, TIOCGWINSZ, &got));
  printf("window size through the pair: %ux%u\n", got.ws_col, got.ws_row);

  OK(write_all(master, "typed", 5));
  /* The pty hands the bytes to the slave's line discipline asynchronously: wait for them. */
  struct pollfd pfd = {slave, POLLIN, 0};
  OK(poll(&pfd, 1, 5000));
  int avail = -1;
  OK(ioctl(slave, FIONREAD, &avail));
  printf("FIONREAD on the slave: %d\n", avail);
  char buf[16];
  printf("slave reads %ld\n", (long)read(slave, buf, sizeof buf));
  int outq = -1;
  OK(ioctl(slave, TIOCOUTQ, &outq));
  printf("TIOCOUTQ: %d\n", outq >= 0);
  int on = 1;
  OK(ioctl(slave, FIONBIO, &on));
  FAILS_WITH(read(slave, buf, sizeof buf), EAGAIN);
  pid_t pgrp;
  FAILS_WITH(ioctl(slave, TIOCGPGRP, &pgrp), ENOTTY); /* not our controlling terminal */
  int p[2];
  OK(pipe(p));
  FAILS_WITH(ioctl(p[0], TCGETS, &t), ENOTTY);
  FAILS_WITH(ioctl(slave, TIOCGWINSZ, (void*)8), EFAULT);
  close(slave);
  close(master);
  return finish("tty_ioctl");
}
