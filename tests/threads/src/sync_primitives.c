// pthread synchronisation under Vireo: mutexes, condition variables, rwlocks, barriers,
// semaphores, __thread TLS, pthread_once, detached threads, 64 threads at once, threads that
// exit while others run. Everything printed is independent of scheduling.
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(x) do { int e_ = (x); if (e_) { printf("FAIL %s: %s\n", #x, strerror(e_)); exit(1); } } while (0)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long shared_count;

static void* mutex_worker(void* arg) {
  for (int i = 0; i < 20000; i++) {
    pthread_mutex_lock(&mu);
    shared_count++;
    pthread_mutex_unlock(&mu);
  }
  return arg;
}

// Producer/consumer over a bounded queue with two condition variables.
#define QN 8
static int queue[QN], qhead, qtail, qcount;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static void* producer(void* arg) {
  for (int i = 1; i <= 5000; i++) {
    pthread_mutex_lock(&mu);
    while (qcount == QN) pthread_cond_wait(&not_full, &mu);
    queue[qtail] = i; qtail = (qtail + 1) % QN; qcount++;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&mu);
  }
  return arg;
}
static void* consumer(void* arg) {
  long sum = 0;
  for (int i = 0; i < 5000; i++) {
    pthread_mutex_lock(&mu);
    while (qcount == 0) pthread_cond_wait(&not_empty, &mu);
    sum += queue[qhead]; qhead = (qhead + 1) % QN; qcount--;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&mu);
  }
  return (void*)sum;
}

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long rw_value;
static void* rw_worker(void* arg) {
  long id = (long)arg, seen_bad = 0;
  for (int i = 0; i < 3000; i++) {
    if (i % 10 == id % 10) {
      pthread_rwlock_wrlock(&rw);
      rw_value += 2;  // always even outside the lock
      pthread_rwlock_unlock(&rw);
    } else {
      pthread_rwlock_rdlock(&rw);
      if (rw_value & 1) seen_bad++;
      pthread_rwlock_unlock(&rw);
    }
  }
  return (void*)seen_bad;
}

static pthread_barrier_t barrier;
static int phase_marks[4][8];
static void* barrier_worker(void* arg) {
  long id = (long)arg;
  for (int phase = 0; phase < 4; phase++) {
    phase_marks[phase][id] = 1;
    pthread_barrier_wait(&barrier);
    // After the barrier every thread has marked this phase.
    for (int j = 0; j < 8; j++)
      if (!phase_marks[phase][j]) return (void*)1;
    pthread_barrier_wait(&barrier);
  }
  return 0;
}

static sem_t sem_items;
static long sem_total;
static void* sem_worker(void* arg) {
  for (int i = 0; i < 1000; i++) {
    sem_wait(&sem_items);
    __atomic_fetch_add(&sem_total, 1, __ATOMIC_SEQ_CST);
  }
  return arg;
}

static __thread long tls_value = 7;
static __thread char tls_name[16];
static void* tls_worker(void* arg) {
  long id = (long)arg;
  if (tls_value != 7) return (void*)-1;  // each thread starts with the initial image
  tls_value = id * 100;
  snprintf(tls_name, sizeof tls_name, "t%ld", id);
  usleep(1000);
  return (void*)(tls_value + (long)strlen(tls_name));
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs;
static void once_init(void) { once_runs++; }
static void* once_worker(void* arg) {
  pthread_once(&once, once_init);
  return arg;
}

static long detached_done;
static void* detached_worker(void* arg) {
  __atomic_fetch_add(&detached_done, (long)arg, __ATOMIC_SEQ_CST);
  return 0;
}

static void* many_worker(void* arg) { return (void*)((long)arg * 3); }

int main(void) {
  pthread_t t[64];
  // Mutex: 8 threads.
  for (long i = 0; i < 8; i++) CHECK(pthread_create(&t[i], 0, mutex_worker, (void*)i));
  long ids = 0;
  for (int i = 0; i < 8; i++) { void* r; CHECK(pthread_join(t[i], &r)); ids += (long)r; }
  printf("mutex: count=%ld ids=%ld\n", shared_count, ids);

  // Condition variables.
  CHECK(pthread_create(&t[0], 0, producer, 0));
  CHECK(pthread_create(&t[1], 0, consumer, 0));
  void* sum;
  CHECK(pthread_join(t[0], 0));
  CHECK(pthread_join(t[1], &sum));
  printf("condvar: sum=%ld\n", (long)sum);

  // rwlock.
  long bad = 0;
  for (long i = 0; i < 6; i++) CHECK(pthread_create(&t[i], 0, rw_worker, (void*)i));
  for (int i = 0; i < 6; i++) { void* r; CHECK(pthread_join(t[i], &r)); bad += (long)r; }
  printf("rwlock: value=%ld odd_reads=%ld\n", rw_value, bad);

  // Barrier.
  CHECK(pthread_barrier_init(&barrier, 0, 8));
  long barrier_bad = 0;
  for (long i = 0; i < 8; i++) CHECK(pthread_create(&t[i], 0, barrier_worker, (void*)i));
  for (int i = 0; i < 8; i++) { void* r; CHECK(pthread_join(t[i], &r)); barrier_bad += (long)r; }
  printf("barrier: violations=%ld\n", barrier_bad);

  // Semaphore.
  sem_init(&sem_items, 0, 0);
  for (long i = 0; i < 4; i++) CHECK(pthread_create(&t[i], 0, sem_worker, (void*)i));
  for (int i = 0; i < 4000; i++) sem_post(&sem_items);
  for (int i = 0; i < 4; i++) CHECK(pthread_join(t[i], 0));
  printf("semaphore: total=%ld\n", sem_total);

  // TLS.
  long tls_sum = 0;
  for (long i = 0; i < 5; i++) CHECK(pthread_create(&t[i], 0, tls_worker, (void*)(i + 1)));
  for (int i = 0; i < 5; i++) { void* r; CHECK(pthread_join(t[i], &r)); tls_sum += (long)r; }
  printf("tls: sum=%ld main=%ld\n", tls_sum, tls_value);

  // pthread_once.
  for (long i = 0; i < 8; i++) CHECK(pthread_create(&t[i], 0, once_worker, (void*)i));
  for (int i = 0; i < 8; i++) CHECK(pthread_join(t[i], 0));
  printf("once: runs=%d\n", once_runs);

  // Detached threads: the main thread waits for their effect, not for them.
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (long i = 1; i <= 10; i++) CHECK(pthread_create(&t[0], &attr, detached_worker, (void*)i));
  while (__atomic_load_n(&detached_done, __ATOMIC_SEQ_CST) != 55) usleep(100);
  printf("detached: done=%ld\n", detached_done);

  // 64 threads at once (joined in reverse: threads exit while others still run).
  long many = 0;
  for (long i = 0; i < 64; i++) CHECK(pthread_create(&t[i], 0, many_worker, (void*)i));
  for (int i = 63; i >= 0; i--) { void* r; CHECK(pthread_join(t[i], &r)); many += (long)r; }
  printf("64 threads: sum=%ld\n", many);
  return 0;
}
