/* The alternate signal stack as Linux keeps it (kernel/signal.c do_sigaltstack, __save_altstack,
 * restore_altstack; fs/exec.c): a request that changes nothing succeeds before any check (an
 * all-zero stack_t in a thread that never set one), a CLONE_VM thread starts with SS_DISABLE
 * flags, execve forgets the stack but keeps the flags, a frame's uc_stack holds the flags as
 * given (SS_ONSTACK mode and SS_AUTODISARM included), SS_AUTODISARM disarms for the handler and
 * rt_sigreturn puts the stack back. Each line prints what the calls answered. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#define AUTODISARM ((int)(1U << 31)) /* SS_AUTODISARM: not in every libc's headers */

static void probe(const char* who) {
  stack_t o, z;
  sigaltstack(NULL, &o);
  printf("%s: old sp=%d size=%zu flags=%d\n", who, o.ss_sp != NULL, o.ss_size, o.ss_flags);
  memset(&z, 0, sizeof z);
  errno = 0;
  int r = sigaltstack(&z, NULL);
  printf("%s: all zero -> %d %d\n", who, r, errno);
  z.ss_flags = SS_DISABLE;
  errno = 0;
  r = sigaltstack(&z, NULL);
  printf("%s: disable -> %d %d\n", who, r, errno);
  memset(&z, 0, sizeof z);
  errno = 0;
  r = sigaltstack(&z, NULL);
  printf("%s: all zero after disable -> %d %d\n", who, r, errno);
  z.ss_flags = SS_ONSTACK;
  z.ss_sp = malloc(65536);
  z.ss_size = 65536;
  errno = 0;
  r = sigaltstack(&z, NULL);
  sigaltstack(NULL, &o);
  printf("%s: SS_ONSTACK mode -> %d %d, reported flags %d\n", who, r, errno, o.ss_flags);
  errno = 0;
  r = sigaltstack(&z, NULL);
  printf("%s: the same again -> %d %d\n", who, r, errno);
  z.ss_size = 100;
  errno = 0;
  r = sigaltstack(&z, NULL);
  printf("%s: too small -> %d %d\n", who, r, errno);
}

static void on_usr1(int sig, siginfo_t* info, void* ctx) {
  ucontext_t* uc = ctx;
  stack_t now;
  (void)info;
  sigaltstack(NULL, &now);
  printf("signal %d: uc_stack flags=%d size=%zu; inside the handler flags=%d\n", sig,
         uc->uc_stack.ss_flags, uc->uc_stack.ss_size, now.ss_flags);
}

static void frames(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_usr1;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigaction(SIGUSR1, &sa, NULL);
  stack_t z = {malloc(65536), 0, 65536}, o;
  sigaltstack(&z, NULL);
  raise(SIGUSR1);
  z.ss_flags = SS_ONSTACK;
  sigaltstack(&z, NULL);
  raise(SIGUSR1);
  z.ss_flags = AUTODISARM;
  sigaltstack(&z, NULL);
  raise(SIGUSR1);
  sigaltstack(NULL, &o);
  printf("after an SS_AUTODISARM delivery: flags=%d size=%zu\n", o.ss_flags, o.ss_size);
  z.ss_flags = SS_DISABLE;
  sigaltstack(&z, NULL);
  raise(SIGUSR1);
}

static void* thread_main(void* arg) {
  (void)arg;
  probe("thread");
  return NULL;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  probe(argc > 1 ? "exec'd" : "main");
  if (argc > 1) return 0;
  pthread_t t;
  pthread_create(&t, NULL, thread_main, NULL);
  pthread_join(t, NULL);
  frames();
  /* Left with SS_DISABLE flags by frames(): the exec'd image keeps them. */
  execl("/proc/self/exe", argv[0], "exec'd", (char*)NULL);
  return 1;
}
