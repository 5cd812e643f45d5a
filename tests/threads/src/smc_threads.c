// A thread rewrites code that another thread then runs, synchronised by semaphores (blocking,
// so that the test does not depend on both threads having a core): every call must run the
// version written last (translations of the old code are dropped in the thread that made
// them, not only in the writer).
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define ROUNDS 2000

static uint8_t* code;
static sem_t published, answered;
static volatile int results[ROUNDS];

static void write_function(int value) {
  // mov eax, imm32; ret
  uint8_t f[6] = {0xB8, 0, 0, 0, 0, 0xC3};
  memcpy(f + 1, &value, 4);
  memcpy(code, f, sizeof f);
}

static void* runner(void* arg) {
  int (*fn)(void) = (int (*)(void))code;
  for (int i = 0; i < ROUNDS; i++) {
    sem_wait(&published);
    results[i] = fn();
    sem_post(&answered);
  }
  return arg;
}

int main(void) {
  code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  sem_init(&published, 0, 0);
  sem_init(&answered, 0, 0);
  pthread_t t;
  pthread_create(&t, 0, runner, 0);
  for (int i = 0; i < ROUNDS; i++) {
    write_function(1000 + i);
    sem_post(&published);
    sem_wait(&answered);
  }
  pthread_join(t, 0);
  int stale = 0;
  for (int i = 0; i < ROUNDS; i++) stale += results[i] != 1000 + i;
  printf("%d calls, %d ran stale code\n", ROUNDS, stale);
  return stale != 0;
}
