/* A thread raises SIGUSR1 at itself in a loop while the main thread switches the signal's
 * disposition between a handler and SIG_IGN (CPython's test_signal
 * test_stress_modifying_handlers, bpo-43406). Linux reads the disposition once, under
 * sighand->siglock, when it delivers: the signal is either ignored or runs the handler. Vireo
 * once took the handler address from the live table after checking a copy, and jumped to
 * SIG_IGN's value, address 1 (SIGSEGV). What is checked: the process lives, and the raiser
 * sent its signals (how many the handler saw depends on timing and is not printed). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api_test.h"

static atomic_long handled;
static atomic_int stop;

static void on_usr1(int sig) {
  (void)sig;
  atomic_fetch_add(&handled, 1);
}

static void* raiser(void* arg) {
  long* sent = arg;
  while (!atomic_load(&stop)) {
    raise(SIGUSR1);
    ++*sent;
  }
  return NULL;
}

static void set_handler(void (*h)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = h;
  sa.sa_flags = flags;
  sigaction(SIGUSR1, &sa, NULL);
}

static int race(int flags) {
  pthread_t t;
  long sent = 0;
  atomic_store(&stop, 0);
  atomic_store(&handled, 0);
  set_handler(on_usr1, flags);
  pthread_create(&t, NULL, raiser, &sent);
  for (int i = 0; i < 40000 || sent < 100; i++) {
    set_handler(on_usr1, flags);
    set_handler(SIG_IGN, 0);
  }
  atomic_store(&stop, 1);
  pthread_join(t, NULL);
  return sent >= 100;
}

int main(void) {
  time_bound(60);
  printf("handler/SIG_IGN race: raiser sent 100 or more: %d\n", race(0));
  printf("with SA_NODEFER: %d\n", race(SA_NODEFER));
  set_handler(SIG_DFL, 0);
  return finish("sigaction_race");
}
