// set*id in a threaded process. Linux keeps credentials per thread, so the C library makes every
// thread change them: glibc signals each thread with its SIGSETXID (33), musl with its
// synchronous-call signal (34), and each thread's handler makes the same system call. Under
// Vireo that signal reaches a host thread that also runs host glibc, which puts its own
// SIGSETXID handler in place when Vireo starts its first host thread: the guest's disposition
// of 33 must still be the one that runs. The other threads then read their ids themselves.
// As root, the effective ids change to 65534 and back; otherwise they are set to what they
// are (the same broadcast either way).
//
// The workers wait for the change blocked in a futex (pthread_barrier_wait, or a condition
// variable in every other round), so the broadcast's signal often arrives just as a
// worker enters its futex wait. Before Vireo's blocking host calls went through its
// safe_syscall stub (src/linux/safe_syscall.h), a signal in that window was seen only when the
// wait returned, which it never did: the set*id waited for that thread's handler forever
// (2-8 hangs in 100 runs, either engine).
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define THREADS 4

static pthread_barrier_t changed, checked;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int use_cond, go;  // this round's workers wait on cv until go
static uid_t want_uid;
static gid_t want_gid;
static int agree;

static void* worker(void* arg) {
  if (use_cond) {
    pthread_mutex_lock(&mu);
    while (!go) pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
  } else {
    pthread_barrier_wait(&changed);
  }
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
static int round_of(uid_t uid, gid_t gid, int uid_first, int cond) {
  agree = 0;
  want_uid = uid;
  want_gid = gid;
  use_cond = cond;
  go = 0;
  pthread_t t[THREADS];
  pthread_barrier_init(&changed, NULL, THREADS + 1);
  pthread_barrier_init(&checked, NULL, THREADS + 1);
  for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, NULL);
  int ok = uid_first ? setresuid(-1, uid, -1) == 0 && setresgid(-1, gid, -1) == 0
                     : setresgid(-1, gid, -1) == 0 && setresuid(-1, uid, -1) == 0;
  if (cond) {
    pthread_mutex_lock(&mu);
    go = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
  } else {
    pthread_barrier_wait(&changed);
  }
  pthread_barrier_wait(&checked);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  pthread_barrier_destroy(&changed);
  pthread_barrier_destroy(&checked);
  return ok ? agree : -1;
}

int main(void) {
  uid_t uid = geteuid();
  gid_t gid = getegid();
  for (int cond = 0; cond < 2; cond++) {
    const char* how = cond ? "condition variable" : "barrier";
    printf("%s, same ids: %d of %d threads agree\n", how, round_of(uid, gid, 0, cond), THREADS);
    if (uid == 0) {
      printf("%s, to 65534: %d of %d threads agree\n", how, round_of(65534, 65534, 0, cond), THREADS);
      // Back: the saved set-user-ID is still 0, so the unprivileged euid may return to it.
      printf("%s, back: %d of %d threads agree\n", how, round_of(uid, gid, 1, cond), THREADS);
    }
  }
  return 0;
}
