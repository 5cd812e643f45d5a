// Signals and threads: pthread_kill to one thread (its handler runs on that thread), a
// process-directed signal taken by the one thread that does not block it, sigwait in a
// dedicated thread, per-thread masks, sigaltstack per thread, pthread_cancel of a thread
// blocked in a cancellation point, and a synchronous fault in a thread handled there.
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_t target;
static volatile pthread_t handled_on;
static volatile sig_atomic_t usr1_count;
static void on_usr1(int sig) {
  handled_on = pthread_self();
  usr1_count++;
}

static volatile int stop_spin;
static void* spinner(void* arg) {
  while (!stop_spin) usleep(100);
  return arg;
}

// Blocks SIGUSR2 everywhere but here; waits for it with sigwait.
static void* waiter(void* arg) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR2);
  int sig = 0;
  sigwait(&s, &sig);
  return (void*)(long)sig;
}

static void* cancelled(void* arg) {
  for (;;) pause();  // a cancellation point
  return 0;
}

static __thread sigjmp_buf fault_jmp;
static __thread volatile int in_thread_fault;
static void on_segv(int sig, siginfo_t* si, void* uc) {
  in_thread_fault = 1;
  siglongjmp(fault_jmp, 1);
}
static void* faulter(void* arg) {
  if (sigsetjmp(fault_jmp, 1) == 0) {
    *(volatile int*)16 = 1;
    return (void*)0;
  }
  return (void*)(long)in_thread_fault;
}

static void* altstack_user(void* arg) {
  stack_t ss, old;
  ss.ss_sp = malloc(65536);
  ss.ss_size = 65536;
  ss.ss_flags = 0;
  if (sigaltstack(&ss, 0)) return (void*)-1;
  sigaltstack(0, &old);
  return (void*)(long)(old.ss_size == 65536 && old.ss_flags == 0);
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, 0);

  // Thread-directed: the handler runs on the target thread.
  pthread_create(&target, 0, spinner, 0);
  pthread_kill(target, SIGUSR1);
  while (!usr1_count) usleep(100);
  printf("pthread_kill: handled on target=%d count=%d\n", pthread_equal(handled_on, target), (int)usr1_count);

  // Process-directed, blocked in main: the other thread (not blocking it) takes it.
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &block, 0);
  kill(getpid(), SIGUSR1);
  while (usr1_count < 2) usleep(100);
  printf("kill: handled on the unblocked thread=%d\n", pthread_equal(handled_on, target));
  stop_spin = 1;
  pthread_join(target, 0);
  pthread_sigmask(SIG_UNBLOCK, &block, 0);

  // sigwait in a thread, SIGUSR2 blocked everywhere (masks are inherited by new threads).
  sigset_t s2;
  sigemptyset(&s2);
  sigaddset(&s2, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &s2, 0);
  pthread_t w;
  pthread_create(&w, 0, waiter, 0);
  pthread_kill(w, SIGUSR2);
  void* got;
  pthread_join(w, &got);
  printf("sigwait: got %s\n", (long)got == SIGUSR2 ? "SIGUSR2" : "something else");

  // Cancellation (glibc sends SIGCANCEL to the thread).
  pthread_t c;
  pthread_create(&c, 0, cancelled, 0);
  usleep(2000);
  pthread_cancel(c);
  void* res;
  pthread_join(c, &res);
  printf("cancel: %s\n", res == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "not cancelled");

  // A synchronous fault is delivered to the faulting thread.
  struct sigaction sv;
  memset(&sv, 0, sizeof sv);
  sv.sa_sigaction = on_segv;
  sv.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sv, 0);
  pthread_t f;
  pthread_create(&f, 0, faulter, 0);
  pthread_join(f, &res);
  printf("fault: handled in its thread=%ld main saw=%d\n", (long)res, in_thread_fault);

  // sigaltstack is per thread.
  pthread_t a;
  pthread_create(&a, 0, altstack_user, 0);
  pthread_join(a, &res);
  stack_t mine;
  sigaltstack(0, &mine);
  printf("sigaltstack: thread=%ld main disabled=%d\n", (long)res, (mine.ss_flags & SS_DISABLE) != 0);
  return 0;
}
