/* Signal handlers: sigaction with SA_SIGINFO, raise/kill to self, blocking with sigprocmask
 * (the signal stays pending until unblocked), SIG_IGN, and recovery from SIGSEGV/SIGFPE with
 * siglongjmp out of the handler. */
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "common.h"

static volatile sig_atomic_t got_usr1, got_usr2, last_code;
static sigjmp_buf recover;
static volatile int fault_signal;

static void on_usr1(int sig) { got_usr1++; (void)sig; }
static void on_usr2(int sig, siginfo_t* si, void* ctx) {
  got_usr2++;
  last_code = si->si_signo == SIGUSR2 && si->si_pid == getpid();
  (void)sig; (void)ctx;
}
static void on_fault(int sig, siginfo_t* si, void* ctx) {
  fault_signal = sig;
  last_code = si->si_code;
  (void)ctx;
  siglongjmp(recover, sig);
}

static volatile int zero = 0;
static int* volatile bad_ptr = (int*)16;

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  raise(SIGUSR1);
  kill(getpid(), SIGUSR1);
  printf("SIGUSR1 handled %d times\n", (int)got_usr1);
  sa.sa_handler = NULL;
  sa.sa_sigaction = on_usr2;
  sa.sa_flags = SA_SIGINFO;
  CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
  kill(getpid(), SIGUSR2);
  sigset_t pending;
  sigpending(&pending);
  printf("blocked: handled %d, pending %d\n", (int)got_usr2, sigismember(&pending, SIGUSR2));
  CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
  printf("unblocked: handled %d, siginfo ok %d\n", (int)got_usr2, (int)last_code);
  CHECK(got_usr2 == 1 && last_code == 1);
  signal(SIGTERM, SIG_IGN);
  raise(SIGTERM);
  printf("SIGTERM ignored, still running\n");
  struct sigaction old_sa;
  sigaction(SIGUSR1, NULL, &old_sa);
  printf("query handler is ours: %d\n", old_sa.sa_handler == on_usr1);
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGFPE, &sa, NULL);
  for (int i = 0; i < 3; i++) {
    int s = sigsetjmp(recover, 1);
    if (s == 0) {
      if (i == 0) printf("%d\n", *bad_ptr);
      else if (i == 1) printf("%d\n", 5 / zero);
      else { *bad_ptr = 1; }
      printf("not reached\n");
    } else {
      printf("recovered from signal %d (%s), si_code %d\n", s, s == SIGSEGV ? "SIGSEGV" : s == SIGFPE ? "SIGFPE" : "?", (int)last_code);
    }
  }
  CHECK(fault_signal == SIGSEGV);
  alarm(0);
  fprintf(stderr, "signal_handler done\n");
  return finish("signal_handler");
}
