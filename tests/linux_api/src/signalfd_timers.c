/* signalfd for blocked signals (raise, sigqueue with a value, a POSIX timer), POSIX timers with
 * SIGEV_SIGNAL delivered to a handler and to sigwaitinfo, timer_gettime/getoverrun, and
 * setitimer(ITIMER_REAL). */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "api_test.h"

static volatile sig_atomic_t alarms, usr2_value, segv_value;
/* SIGSEGV queued by the program itself (not a fault): Vireo keeps SIGSEGV for its own use on
 * the host, so this one takes the path of signals it holds for the guest. */
static void on_segv(int sig, siginfo_t* si, void* uc) {
  (void)sig, (void)uc;
  segv_value = si->si_code == SI_QUEUE ? si->si_value.sival_int : -1;
}
static void on_alarm(int sig) { (void)sig; alarms++; }
static void on_usr2(int sig, siginfo_t* si, void* uc) {
  (void)sig, (void)uc;
  usr2_value = si->si_code == SI_TIMER ? si->si_value.sival_int : -1;
}

int main(void) {
  time_bound(20);
  setvbuf(stdout, NULL, _IOLBF, 0);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGRTMIN);
  sigprocmask(SIG_BLOCK, &set, NULL);
  int sfd = (int)OK(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  struct signalfd_siginfo si;
  FAILS_WITH(read(sfd, &si, sizeof si), EAGAIN);
  raise(SIGUSR1);
  struct pollfd pfd = {sfd, POLLIN, 0};
  int ready = (int)OK(poll(&pfd, 1, 1000));
  printf("poll after raise: %d revents %#x\n", ready, pfd.revents);
  long n = OK(read(sfd, &si, sizeof si));
  printf("signalfd read %ld: signal %s, code SI_TKILL %d, from us %d\n", n,
         si.ssi_signo == SIGUSR1 ? "SIGUSR1" : "other", si.ssi_code == SI_TKILL, si.ssi_pid == (uint32_t)getpid());
  union sigval val = {.sival_int = 1234};
  OK(sigqueue(getpid(), SIGRTMIN, val));
  n = OK(read(sfd, &si, sizeof si));
  printf("sigqueue through signalfd: %ld bytes, SIGRTMIN %d, SI_QUEUE %d, value %d\n", n,
         (int)si.ssi_signo == SIGRTMIN, si.ssi_code == SI_QUEUE, si.ssi_int);

  /* A POSIX timer whose signal is blocked: it shows up in the signalfd. */
  struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN,
                        .sigev_value.sival_int = 77};
  timer_t t;
  OK(timer_create(CLOCK_MONOTONIC, &ev, &t));
  struct itimerspec its = {.it_value = {0, 5 * 1000 * 1000}};
  OK(timer_settime(t, 0, &its, NULL));
  pfd.revents = 0;
  OK(poll(&pfd, 1, 5000));
  n = OK(read(sfd, &si, sizeof si));
  printf("timer through signalfd: SIGRTMIN %d, SI_TIMER %d, value %d, overrun %d\n",
         (int)si.ssi_signo == SIGRTMIN, si.ssi_code == SI_TIMER, si.ssi_int, timer_getoverrun(t));
  OK(timer_delete(t));
  close(sfd);

  /* A periodic timer delivering SIGUSR2 to a handler, with its value in the siginfo. */
  struct sigaction sa = {.sa_sigaction = on_usr2, .sa_flags = SA_SIGINFO};
  sigaction(SIGUSR2, &sa, NULL);
  ev = (struct sigevent){.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2, .sigev_value.sival_int = 99};
  OK(timer_create(CLOCK_REALTIME, &ev, &t));
  its = (struct itimerspec){.it_value = {0, 2 * 1000 * 1000}, .it_interval = {0, 2 * 1000 * 1000}};
  OK(timer_settime(t, 0, &its, NULL));
  struct itimerspec cur;
  OK(timer_gettime(t, &cur));
  printf("timer_gettime: interval kept %d\n", cur.it_interval.tv_nsec == 2 * 1000 * 1000);
  while (!usr2_value) pause();
  printf("handler saw timer value %d\n", (int)usr2_value);
  OK(timer_delete(t));

  /* sigwaitinfo on a timer signal. */
  ev.sigev_signo = SIGUSR1;
  ev.sigev_value.sival_int = 5;
  OK(timer_create(CLOCK_MONOTONIC, &ev, &t));
  its = (struct itimerspec){.it_value = {0, 1000 * 1000}};
  OK(timer_settime(t, 0, &its, NULL));
  siginfo_t info;
  int sig = (int)OK(sigwaitinfo(&set, &info));
  printf("sigwaitinfo: SIGUSR1 %d, SI_TIMER %d, value %d\n", sig == SIGUSR1, info.si_code == SI_TIMER,
         info.si_value.sival_int);
  OK(timer_delete(t));

  /* setitimer(ITIMER_REAL) and getitimer. */
  signal(SIGALRM, on_alarm);
  alarm(0);
  struct itimerval iv = {.it_interval = {0, 3000}, .it_value = {0, 3000}}, old;
  OK(setitimer(ITIMER_REAL, &iv, NULL));
  while (alarms < 3) pause();
  OK(getitimer(ITIMER_REAL, &old));
  printf("itimer: three alarms, interval kept %d\n", old.it_interval.tv_usec == 3000);
  iv = (struct itimerval){{0, 0}, {0, 0}};
  OK(setitimer(ITIMER_REAL, &iv, NULL));
  /* (libc reads the sigevent itself, so the bad pointer goes in through syscall()) */
  FAILS_WITH(syscall(SYS_timer_create, CLOCK_MONOTONIC, 8L, &t), EFAULT);
  struct sigaction segv = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO};
  sigaction(SIGSEGV, &segv, NULL);
  OK(sigqueue(getpid(), SIGSEGV, (union sigval){.sival_int = 42}));
  printf("sigqueue(SIGSEGV) to ourselves: handler saw value %d\n", (int)segv_value);
  return finish("signalfd_timers");
}
