// Contended-mutex ping-pong: two threads hand a token back and forth N times through one
// mutex and two condition variables (argv: N). Every hand-over is a futex wake and wait.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn[2] = {PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER};
static int owner;
static long rounds;

static void* player(void* arg) {
  int me = (int)(long)arg;
  for (long i = 0; i < rounds; i++) {
    pthread_mutex_lock(&mu);
    while (owner != me) pthread_cond_wait(&turn[me], &mu);
    owner = !me;
    pthread_cond_signal(&turn[!me]);
    pthread_mutex_unlock(&mu);
  }
  return 0;
}

int main(int argc, char** argv) {
  rounds = argc > 1 ? atol(argv[1]) : 100000;
  pthread_t t[2];
  for (long i = 0; i < 2; i++) pthread_create(&t[i], 0, player, (void*)i);
  for (int i = 0; i < 2; i++) pthread_join(t[i], 0);
  printf("%ld hand-overs, owner %d\n", 2 * rounds, owner);
  return 0;
}
