// The program the gdb tests debug (built static with -g -O0): calls three deep, a loop, a
// watched global, a SIGSEGV raised and one handled.
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int counter = 0;          // watched
int setting = 1;          // changed by `set var`
static sigjmp_buf recover;
static volatile int handled = 0;
static volatile int armed = 0;  // recover is set

static void on_segv(int sig, siginfo_t* si, void* ctx) {
  (void)sig; (void)si; (void)ctx;
  handled++;
  if (armed) siglongjmp(recover, 1);
}

int leaf(int x) {
  int doubled = x * 2;
  return doubled + 1;
}

int middle(int x) { return leaf(x + 1) + 1; }

int outer(int x) { return middle(x * 3); }

int main(void) {
  int local = 42;
  for (int i = 0; i < 3; i++) counter += i + 1;
  printf("counter=%d local=%d\n", counter, local);
  printf("outer=%d\n", outer(2));
  printf("setting=%d\n", setting);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  raise(SIGSEGV);  // gdb: `signal 0` skips it (the handler does not run)
  printf("after raise handled=%d\n", handled);
  if (sigsetjmp(recover, 1) == 0) {
    armed = 1;
    *(volatile int*)16 = 1;
  }  // gdb: `continue` passes it on
  printf("after fault handled=%d\n", handled);
  return 0;
}
