// Two threads for the gdb thread-list test: the worker hits a breakpoint while main waits in
// pthread_join (a blocking system call).
#include <pthread.h>
#include <stdio.h>

int hits = 0;

void* worker(void* arg) {
  hits++;
  return arg;
}

int main(void) {
  pthread_t t;
  void* ret;
  pthread_create(&t, NULL, worker, (void*)7);
  pthread_join(t, &ret);
  printf("hits=%d ret=%ld\n", hits, (long)ret);
  return 0;
}
