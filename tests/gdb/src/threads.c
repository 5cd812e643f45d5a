// Two threads for the gdb thread-list test: the worker hits a breakpoint while main waits in
// pthread_join (a blocking system call). Each names itself (prctl(PR_SET_NAME)), and gdb's
// `info threads` shows the names (qXfer:threads:read).
#include <pthread.h>
#include <stdio.h>
#include <sys/prctl.h>

int hits = 0;

void* count(void* arg) {
  hits++;
  return arg;
}

void* worker(void* arg) {
  prctl(PR_SET_NAME, "vireo-worker");
  return count(arg);
}

int main(void) {
  pthread_t t;
  void* ret;
  prctl(PR_SET_NAME, "vireo-main");
  pthread_create(&t, NULL, worker, (void*)7);
  pthread_join(t, &ret);
  printf("hits=%d ret=%ld\n", hits, (long)ret);
  return 0;
}
