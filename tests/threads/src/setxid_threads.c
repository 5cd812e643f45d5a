// set*id in a threaded process. Linux keeps credentials per thread, so the C library makes every
// thread change them: glibc signals each thread with its SIGSETXID (33), musl with its
// synchronous-call signal (34), and each thread's handler makes the same system call. Under
// Vireo that signal reaches a host thread that also runs host glibc, which puts its own
// SIGSETXID handler in place when Vireo starts its first host thread: the guest's disposition
// of 33 must still be the one that runs. The other threads then read their ids themselves.
// As root, the effective ids change to 65534 and back; otherwise they are set to what they
// are (the same broadcast either way).
//
// The workers wait for the change spinning on a flag (with sched_yield), not in a blocking
// call: Vireo sees a signal that arrives just before a thread enters a blocking host call
// only when that call returns (docs/usage.md, threads, "Limits"), so a worker blocked in a futex when the
// broadcast came would never answer it, and the setresuid would wait for it forever. This
// test is about whose handler of 33 runs; that race is a known limit, not what it checks.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define THREADS 4

static pthread_barrier_t checked;
static int changed;  // the main thread's set*id calls have returned
static uid_t want_uid;
static gid_t want_gid;
static int agree;

static void* worker(void* arg) {
  while (!__atomic_load_n(&changed, __ATOMIC_ACQUIRE)) sched_yield();
  // Raw calls: the thread's own credentials, not a value a library might cache.
  uid_t r, e, s;
  gid_t gr, ge, gs;
  syscall(SYS_getresuid, &r, &e, &s);
  syscall(SYS_getresgid, &gr, &ge, &gs);
  if (e == want_uid && ge == want_gid) __atomic_fetch_add(&agree, 1, __ATOMIC_SEQ_CST);
  pthread_barrier_wait(&checked);
  return arg;
}

// uid_first: on the way back, the euid must be 0 again before the egid may change.
static int round_of(uid_t uid, gid_t gid, int uid_first) {
  agree = 0;
  want_uid = uid;
  want_gid = gid;
  pthread_t t[THREADS];
  __atomic_store_n(&changed, 0, __ATOMIC_RELEASE);
  pthread_barrier_init(&checked, NULL, THREADS + 1);
  for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, NULL);
  int ok = uid_first ? setresuid(-1, uid, -1) == 0 && setresgid(-1, gid, -1) == 0
                     : setresgid(-1, gid, -1) == 0 && setresuid(-1, uid, -1) == 0;
  __atomic_store_n(&changed, 1, __ATOMIC_RELEASE);
  pthread_barrier_wait(&checked);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  pthread_barrier_destroy(&checked);
  return ok ? agree : -1;
}

int main(void) {
  uid_t uid = geteuid();
  gid_t gid = getegid();
  printf("same ids: %d of %d threads agree\n", round_of(uid, gid, 0), THREADS);
  if (uid == 0) {
    printf("to 65534: %d of %d threads agree\n", round_of(65534, 65534, 0), THREADS);
    // Back: the saved set-user-ID is still 0, so the unprivileged euid may return to it.
    printf("back: %d of %d threads agree\n", round_of(uid, gid, 1), THREADS);
  }
  return 0;
}
