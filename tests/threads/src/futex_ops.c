// The futex operations beyond wait/wake that threading libraries use: a priority-inheritance
// mutex under contention (FUTEX_LOCK_PI/UNLOCK_PI), a process-shared mutex and condition
// variable in MAP_SHARED memory between a parent and its child (shared futexes), and
// futex_waitv waiting on two words at once.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t pi;
static long pi_count;

static void* pi_worker(void* arg) {
  for (int i = 0; i < 20000; i++) {
    pthread_mutex_lock(&pi);
    pi_count++;
    pthread_mutex_unlock(&pi);
  }
  return arg;
}

struct Shared {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stage;
};

// <linux/futex.h> values (musl's toolchain has no kernel headers).
#define FUTEX_WAKE_PRIVATE_OP 129
#define FUTEX2_SIZE_U32 2
#define FUTEX2_PRIVATE 128
#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
struct waitv {
  uint64_t val, uaddr;
  uint32_t flags, reserved;
};
static uint32_t words[2];

static void* waker(void* arg) {
  usleep(2000);
  __atomic_store_n(&words[1], 1, __ATOMIC_SEQ_CST);
  syscall(SYS_futex, &words[1], FUTEX_WAKE_PRIVATE_OP, 1, 0, 0, 0);
  return arg;
}

int main(void) {
  // Priority inheritance.
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
  pthread_mutex_init(&pi, &a);
  pthread_t t[4];
  for (long i = 0; i < 4; i++) pthread_create(&t[i], 0, pi_worker, (void*)i);
  for (int i = 0; i < 4; i++) pthread_join(t[i], 0);
  printf("PI mutex: %ld\n", pi_count);

  // Process-shared mutex and condition variable.
  struct Shared* s = mmap(0, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  pthread_mutexattr_t ma;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(&s->mu, &ma);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
  pthread_cond_init(&s->cv, &ca);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    pthread_mutex_lock(&s->mu);
    while (s->stage != 1) pthread_cond_wait(&s->cv, &s->mu);
    s->stage = 2;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    _exit(0);
  }
  pthread_mutex_lock(&s->mu);
  s->stage = 1;
  pthread_cond_signal(&s->cv);
  while (s->stage != 2) pthread_cond_wait(&s->cv, &s->mu);
  pthread_mutex_unlock(&s->mu);
  int st;
  waitpid(pid, &st, 0);
  printf("process-shared condvar: stage %d, child exit %d\n", s->stage, WEXITSTATUS(st));

  // futex_waitv: wait on two words; the second is changed and woken.
  struct waitv w[2] = {{0, (uint64_t)(uintptr_t)&words[0], FUTEX2_SIZE_U32 | FUTEX2_PRIVATE, 0},
                       {0, (uint64_t)(uintptr_t)&words[1], FUTEX2_SIZE_U32 | FUTEX2_PRIVATE, 0}};
  pthread_t wk;
  pthread_create(&wk, 0, waker, 0);
  struct timespec to;
  clock_gettime(CLOCK_MONOTONIC, &to);
  to.tv_sec += 10;
  long r;
  do r = syscall(SYS_futex_waitv, w, 2, 0, &to, CLOCK_MONOTONIC);
  while (r < 0 && __atomic_load_n(&words[1], __ATOMIC_SEQ_CST) == 0);
  pthread_join(wk, 0);
  printf("futex_waitv: woken by word %ld\n", r < 0 ? 1L : r);  // EAGAIN if it changed first
  return 0;
}
