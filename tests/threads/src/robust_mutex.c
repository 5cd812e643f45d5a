// A robust mutex whose owner thread dies holding it: the next locker gets EOWNERDEAD (the
// robust list is walked when the thread exits), makes it consistent and goes on; also
// get_robust_list for the calling thread.
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t m;

static void* die_holding(void* arg) {
  pthread_mutex_lock(&m);
  return arg;  // exits with the mutex held
}

int main(void) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&m, &a);
  pthread_t t;
  pthread_create(&t, 0, die_holding, 0);
  pthread_join(t, 0);
  int r = pthread_mutex_lock(&m);
  printf("lock after owner died: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
  if (r == EOWNERDEAD) printf("consistent: %d\n", pthread_mutex_consistent(&m));
  printf("unlock: %d\n", pthread_mutex_unlock(&m));
  printf("relock: %d\n", pthread_mutex_lock(&m));
  pthread_mutex_unlock(&m);

  void* head = 0;
  size_t len = 0;
  long g = syscall(SYS_get_robust_list, 0, &head, &len);
  printf("get_robust_list: %ld len=%zu head set=%d\n", g, len, head != 0);
  return 0;
}
