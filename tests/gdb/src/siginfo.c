// gdb rewrites the siginfo of a signal before its delivery (`set $_siginfo...`, the
// qXfer:siginfo:write packet): the handler gets what gdb left.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void on_segv(int sig, siginfo_t* si, void* ctx) {
  (void)ctx;
  printf("handler: sig=%d addr=%p code=%d\n", sig, si->si_addr, si->si_code);
  fflush(stdout);
  _exit(0);
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  *(volatile int*)0x1234 = 7;
  return 1;
}
