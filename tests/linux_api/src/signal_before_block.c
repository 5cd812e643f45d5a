/* A signal raced against the start of a blocking call, thousands of times.
 *
 * The main thread enters a call that blocks until the signal's handler (run on the main thread)
 * makes it finish: a read of an empty pipe, to which the handler writes a byte, or a futex wait
 * on a word the handler changes. The signal comes from a one-shot timer armed just before the
 * call, its delay swept in 25 ns steps across the time the call takes to start, so that rounds
 * land before, around and after the system call's start whatever the load; or from a helper
 * thread (which blocks it itself) as soon as the main thread announces the round. Natively
 * there are two outcomes: a signal before the call runs the handler first and the call does
 * not block (read returns the byte, the futex wait EAGAIN); a signal during the call
 * interrupts it (EINTR without SA_RESTART; with SA_RESTART the call runs again and finishes
 * as before). Either way the handler has run exactly once when the call returns. Under Vireo a
 * signal recorded just before the host call was made once left that call blocked for ever
 * (src/linux/safe_syscall.h), and this test ended by its time bound.
 *
 * Signals: SIGUSR1, which Vireo passes to the host, and SIGBUS, which it holds itself and wakes
 * the thread for; the helper sends them to the thread (pthread_kill) or to the process (kill,
 * which only the main thread does not block). Printed: per variant, the rounds and the
 * handler's count; which of the two outcomes each round had depends on timing and is only
 * checked. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "api_test.h"

#define ROUNDS 800
#define FUTEX_WAIT_PRIVATE 128  /* FUTEX_WAIT | FUTEX_PRIVATE_FLAG (musl has no <linux/futex.h>) */

static int pipe_fd[2];
static atomic_int futex_word;
static atomic_long handled;
static atomic_int announced, finished;  /* the round the main thread is in / has ended */
enum { TIMER, THREAD, PROCESS };
static int source;                      /* who sends the signal */
static int use_futex;                   /* the call is a futex wait, else a read */
static int sig;
static pthread_t main_thread;

static void on_signal(int s) {
  (void)s;
  atomic_fetch_add(&handled, 1);
  char c = 'x';
  if (use_futex) atomic_store(&futex_word, 1);
  else if (write(pipe_fd[1], &c, 1) != 1) _exit(90);
}

static void* sender(void* arg) {
  (void)arg;
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);  /* kill() must pick the main thread */
  for (int round = 1; round <= ROUNDS; round++) {
    while (atomic_load(&announced) != round) sched_yield();  /* (yields: 2 cores, loaded) */
    if (source == PROCESS) kill(getpid(), sig);
    else pthread_kill(main_thread, sig);
    while (atomic_load(&finished) != round) sched_yield();
  }
  return NULL;
}

/* One variant; returns the number of rounds whose outcome was not one of the native two. */
static int variant(int restart) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = restart ? SA_RESTART : 0;
  OK(sigaction(sig, &sa, NULL));
  atomic_store(&handled, 0);
  atomic_store(&announced, 0);
  atomic_store(&finished, 0);
  pthread_t t;
  timer_t timer;
  if (source == TIMER) {
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;  /* (the process has no other thread meanwhile) */
    ev.sigev_signo = sig;
    OK(timer_create(CLOCK_MONOTONIC, &ev, &timer));
  } else {
    pthread_create(&t, NULL, sender, NULL);
  }
  int wrong = 0;
  for (int round = 1; round <= ROUNDS; round++) {
    atomic_store(&futex_word, 0);
    if (source == TIMER) {
      struct itimerspec in = {{0, 0}, {0, 1 + (round % 400) * 25}};
      OK(timer_settime(timer, 0, &in, NULL));
    }
    atomic_store(&announced, round);
    long r;
    int err, ok;
    char c;
    if (use_futex) {
      r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
      err = errno;
      /* Before: the word is 1 already (EAGAIN). During: EINTR, or with SA_RESTART the wait
       * runs again and finds the word changed (EAGAIN). */
      ok = r == -1 && (err == EAGAIN || (err == EINTR && !restart));
    } else {
      r = read(pipe_fd[0], &c, 1);
      err = errno;
      /* Before: the handler's byte is there. During: EINTR (the byte stays in the pipe), or
       * with SA_RESTART the read runs again and gets it. */
      ok = r == 1 || (r == -1 && err == EINTR && !restart && read(pipe_fd[0], &c, 1) == 1);
    }
    /* The handler has run once more, whichever way the round went. */
    ok = ok && atomic_load(&handled) == round;
    if (!ok && !wrong++)
      fprintf(stderr, "round %d: result %ld (%s)\n", round, r, r < 0 ? strerror(err) : "-");
    atomic_store(&finished, round);
  }
  if (source == TIMER) OK(timer_delete(timer));
  else pthread_join(t, NULL);
  static const char* const sources[] = {"timer", "pthread_kill", "kill"};
  printf("%-5s %-7s %-12s %-10s: %d rounds, handler ran %ld times, %d unexpected results\n",
         use_futex ? "futex" : "read", sig == SIGUSR1 ? "SIGUSR1" : "SIGBUS", sources[source],
         restart ? "SA_RESTART" : "no restart", ROUNDS, atomic_load(&handled), wrong);
  return wrong || atomic_load(&handled) != ROUNDS;
}

int main(void) {
  time_bound(60);
  setvbuf(stdout, NULL, _IOLBF, 0);
  main_thread = pthread_self();
  OK(pipe(pipe_fd));
  static const int sigs[] = {SIGUSR1, SIGBUS};
  for (int s = 0; s < 2; s++) {
    sig = sigs[s];
    /* (a timer's SIGBUS would be a host SIGBUS: Vireo's own, for guest memory faults) */
    for (source = sig == SIGBUS ? THREAD : TIMER; source <= PROCESS; source++)
      for (use_futex = 0; use_futex < 2; use_futex++)
        for (int restart = 0; restart < 2; restart++)
          if (variant(restart)) check_failures++;
  }
  return finish("signal_before_block");
}
