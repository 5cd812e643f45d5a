// Threads for the gdb thread-event test: main and a worker both call bump(); a breakpoint
// for thread 1 only must stop main's call, not the worker's (gdb resumes past that one).
#include <pthread.h>
#include <stdio.h>

int hits = 0;

__attribute__((noinline)) void bump(int who) { hits += who; }

void* worker(void* arg) {
  bump(10);
  return arg;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  pthread_join(t, NULL);
  bump(1);
  printf("hits=%d\n", hits);
  return 0;
}
