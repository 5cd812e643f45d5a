/* epoll over pipes, a socketpair, an eventfd and a timerfd: level-triggered, edge-triggered and
 * one-shot registrations, EPOLL_CTL_MOD/DEL, epoll_pwait with a signal mask that lets a pending
 * signal in, and epoll_pwait2's timespec timeout. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <sys/select.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>

#include "api_test.h"

/* Waits without blocking and prints the ready set as "tag:events" pairs (tags in data.u32). */
static int show(const char* what, int ep, int timeout_ms) {
  struct epoll_event ev[8];
  int n = (int)OK(epoll_wait(ep, ev, 8, timeout_ms));
  printf("%-34s %d ready:", what, n);
  for (int i = 0; i < n; i++) {
    printf(" %u:", ev[i].data.u32);
    if (ev[i].events & EPOLLIN) printf("in");
    if (ev[i].events & EPOLLOUT) printf("out");
    if (ev[i].events & EPOLLHUP) printf("hup");
    if (ev[i].events & EPOLLRDHUP) printf("rdhup");
    if (ev[i].events & EPOLLERR) printf("err");
  }
  printf("\n");
  return n;
}

static void add(int ep, int fd, uint32_t events, uint32_t tag) {
  struct epoll_event e = {.events = events, .data.u32 = tag};
  OK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e));
}

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { got_usr1 = sig; }

int main(void) {
  time_bound(20);
  setvbuf(stdout, NULL, _IOLBF, 0);
  int ep = (int)OK(epoll_create1(EPOLL_CLOEXEC));
  int lt[2], et[2], os[2];
  OK(pipe(lt));
  OK(pipe(et));
  OK(pipe(os));
  add(ep, lt[0], EPOLLIN, 1);
  add(ep, et[0], EPOLLIN | EPOLLET, 2);
  add(ep, os[0], EPOLLIN | EPOLLONESHOT, 3);
  show("empty pipes", ep, 0);
  OK(write(lt[1], "ab", 2));
  OK(write(et[1], "ab", 2));
  OK(write(os[1], "ab", 2));
  show("data in all three", ep, 0);
  show("again, nothing read", ep, 0);  /* LT stays ready; ET and ONESHOT do not */
  char c;
  OK(read(lt[0], &c, 1));
  OK(read(et[0], &c, 1));
  OK(write(et[1], "c", 1));
  show("ET pipe got new data", ep, 0);
  struct epoll_event mod = {.events = EPOLLIN | EPOLLONESHOT, .data.u32 = 3};
  OK(epoll_ctl(ep, EPOLL_CTL_MOD, os[0], &mod));
  show("one-shot re-armed", ep, 0);
  OK(epoll_ctl(ep, EPOLL_CTL_DEL, lt[0], NULL));
  OK(epoll_ctl(ep, EPOLL_CTL_DEL, os[0], NULL));
  FAILS_WITH(epoll_ctl(ep, EPOLL_CTL_DEL, os[0], NULL), ENOENT);
  FAILS_WITH(epoll_ctl(ep, EPOLL_CTL_ADD, et[0], &mod), EEXIST);
  FAILS_WITH(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &mod), EINVAL);
  close(et[1]);
  show("ET writer closed", ep, 0);
  OK(epoll_ctl(ep, EPOLL_CTL_DEL, et[0], NULL));

  /* A socketpair: writable at once, readable after a send, RDHUP after the peer shuts down. */
  int sv[2];
  OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  add(ep, sv[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP, 4);
  show("socket, idle", ep, 0);
  OK(send(sv[1], "x", 1, 0));
  show("socket, data", ep, 0);
  OK(shutdown(sv[1], SHUT_WR));
  show("socket, peer shut down", ep, 0);
  OK(epoll_ctl(ep, EPOLL_CTL_DEL, sv[0], NULL));

  /* eventfd: a counter, and a semaphore. */
  int efd = (int)OK(eventfd(0, EFD_NONBLOCK));
  add(ep, efd, EPOLLIN | EPOLLET, 5);
  show("eventfd zero", ep, 0);
  uint64_t v = 3;
  OK(write(efd, &v, 8));
  v = 4;
  OK(write(efd, &v, 8));
  show("eventfd seven", ep, 0);
  OK(read(efd, &v, 8));
  printf("eventfd read %llu\n", (unsigned long long)v);
  FAILS_WITH(read(efd, &v, 8), EAGAIN);
  int sem = (int)OK(eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK));
  long r1 = read(sem, &v, 8), r2 = read(sem, &v, 8);
  printf("semaphore reads: %ld %ld value %llu\n", r1, r2, (unsigned long long)v);
  FAILS_WITH(read(sem, &v, 8), EAGAIN);
  OK(epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL));

  /* timerfd: a one-shot, then a periodic timer read after several periods. */
  int tfd = (int)OK(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
  add(ep, tfd, EPOLLIN, 6);
  /* Armed for 100 s first (never reached, whatever the machine's load), then for 20 ms. */
  struct itimerspec its = {.it_value = {100, 0}};
  OK(timerfd_settime(tfd, 0, &its, NULL));
  struct itimerspec cur;
  OK(timerfd_gettime(tfd, &cur));
  printf("timerfd armed: %d\n", cur.it_value.tv_sec > 90 && cur.it_value.tv_sec <= 100);
  show("timerfd before expiry", ep, 0);
  its = (struct itimerspec){.it_value = {0, 20 * 1000 * 1000}};
  OK(timerfd_settime(tfd, 0, &its, NULL));
  show("timerfd, waited", ep, 5000);
  OK(read(tfd, &v, 8));
  printf("timerfd expirations %llu\n", (unsigned long long)v);
  its = (struct itimerspec){.it_value = {0, 1000 * 1000}, .it_interval = {0, 1000 * 1000}};
  OK(timerfd_settime(tfd, 0, &its, NULL));
  struct timespec nap = {0, 30 * 1000 * 1000};
  nanosleep(&nap, NULL);
  OK(read(tfd, &v, 8));
  printf("periodic timerfd: several expirations %d\n", v >= 2);
  its = (struct itimerspec){{0, 0}, {0, 0}};
  OK(timerfd_settime(tfd, 0, &its, &cur));
  OK(epoll_ctl(ep, EPOLL_CTL_DEL, tfd, NULL));

  /* epoll_pwait: SIGUSR1 is blocked and pending; the wait's mask lets it in, so the handler
   * runs and the wait ends with EINTR; afterwards the old mask is back. */
  struct sigaction sa = {.sa_handler = on_usr1};
  sigaction(SIGUSR1, &sa, NULL);
  sigset_t block, none, now;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigemptyset(&none);
  sigprocmask(SIG_BLOCK, &block, NULL);
  raise(SIGUSR1);
  struct epoll_event evs[4];
  printf("before epoll_pwait: handler ran %d\n", got_usr1 != 0);
  FAILS_WITH(epoll_pwait(ep, evs, 4, 5000, &none), EINTR);
  sigprocmask(SIG_SETMASK, NULL, &now);
  printf("after epoll_pwait: handler ran %d, SIGUSR1 blocked again %d\n", got_usr1 == SIGUSR1,
         sigismember(&now, SIGUSR1));
  /* The same through ppoll and pselect. */
  got_usr1 = 0;
  raise(SIGUSR1);
  struct pollfd none_ready = {lt[0], POLLOUT, 0};
  struct timespec long_wait = {5, 0};
  FAILS_WITH(ppoll(&none_ready, 1, &long_wait, &none), EINTR);
  sigprocmask(SIG_SETMASK, NULL, &now);
  printf("after ppoll: handler ran %d, SIGUSR1 blocked again %d\n", got_usr1 == SIGUSR1,
         sigismember(&now, SIGUSR1));
  got_usr1 = 0;
  raise(SIGUSR1);
  FAILS_WITH(pselect(0, NULL, NULL, NULL, &long_wait, &none), EINTR);
  sigprocmask(SIG_SETMASK, NULL, &now);
  printf("after pselect: handler ran %d, SIGUSR1 blocked again %d\n", got_usr1 == SIGUSR1,
         sigismember(&now, SIGUSR1));
  /* epoll_pwait2 with a 10 ms timespec: times out. */
  struct timespec tmo = {0, 10 * 1000 * 1000};
  printf("epoll_pwait2 timeout: %ld\n", (long)syscall(SYS_epoll_pwait2, ep, evs, 4, &tmo, NULL, 8));
  FAILS_WITH(epoll_wait(ep, evs, 0, 0), EINVAL);
  OK(write(lt[1], "z", 1));
  add(ep, lt[0], EPOLLIN, 1);
  struct epoll_event* volatile bad = (struct epoll_event*)8;
  FAILS_WITH(epoll_wait(ep, bad, 4, 0), EFAULT);
  return finish("epoll_events");
}
