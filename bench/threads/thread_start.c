// Thread start-up: N threads created and joined one after the other, each doing almost
// nothing, so the time is what a clone of a new thread and its first instructions cost
// (issue 22: 2.5 ms a thread under the jit, 0.09 ms natively). Prints a checksum of what the
// threads computed, the same everywhere.
// Usage: thread_start [N]   (default 1000)
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void* work(void* arg) {
  long i = (long)arg, h = i;
  for (int k = 0; k < 16; k++) h = h * 31 + k;
  return (void*)h;
}

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000, sum = 0;
  for (long i = 0; i < n; i++) {
    pthread_t t;
    void* r;
    if (pthread_create(&t, 0, work, (void*)i) != 0 || pthread_join(t, &r) != 0) return 1;
    sum += (long)r;
  }
  printf("%ld threads, checksum %ld\n", n, sum);
  return 0;
}
