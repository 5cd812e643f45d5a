// Threads started one after another, each running code that the threads before it ran too,
// while the main thread changes that code between them: rewritten in place (an RWX page), and
// replaced by a new mapping at the same address. Under Vireo a new thread may run on an ended
// thread's engine (Engine::park) with that thread's translations: what was invalidated while
// no thread ran the engine must not run again. Then batches of threads at once, and a fork
// whose child executes a shell (the child's image must not inherit the ended threads'
// engines). Every result is independent of scheduling.
// Usage: thread_churn [ROUNDS]   (default 300)
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static uint8_t* code;  // one page: `mov eax, imm32; ret`, the imm32 the version

static void write_function(uint8_t* page, int value) {
  uint8_t f[6] = {0xB8, 0, 0, 0, 0, 0xC3};
  memcpy(f + 1, &value, 4);
  memcpy(page, f, sizeof f);
}

static long mix(long x) {
  for (int k = 0; k < 64; k++) x = x * 6364136223846793005L + k;
  return x;
}

static void* run(void* arg) {
  int (*fn)(void) = (int (*)(void))code;
  long sum = 0;
  // Called often enough to be translated in any engine that ran it before.
  for (int i = 0; i < 50; i++) sum += fn() + (mix(i) & 1);
  return (void*)(sum + (long)arg * 0);
}

int main(int argc, char** argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 300;
  code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  long stale = 0, checksum = 0;
  for (int r = 0; r < rounds; r++) {
    if (r % 3 == 2) {
      // A new mapping where the code was (what munmap and mmap make stale).
      munmap(code, 4096);
      if (mmap(code, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != code)
        return 2;
    }
    write_function(code, r);
    pthread_t t;
    void* res;
    pthread_create(&t, 0, run, (void*)(long)r);
    pthread_join(t, &res);
    long expect = 0;
    for (int i = 0; i < 50; i++) expect += r + (mix(i) & 1);
    stale += (long)res != expect;
    checksum += (long)res;
  }
  // Batches of 6 threads at once, each batch on new code.
  for (int b = 0; b < rounds / 10; b++) {
    write_function(code, 100000 + b);
    pthread_t t[6];
    for (int i = 0; i < 6; i++) pthread_create(&t[i], 0, run, (void*)(long)i);
    for (int i = 0; i < 6; i++) {
      void* res;
      pthread_join(t[i], &res);
      long expect = 0;
      for (int k = 0; k < 50; k++) expect += 100000 + b + (mix(k) & 1);
      stale += (long)res != expect;
      checksum += (long)res;
    }
  }
  printf("%d rounds, %d batches: checksum %ld, %ld threads ran stale code\n", rounds, rounds / 10, checksum, stale);
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    execl("/bin/sh", "sh", "-c", "i=0; while [ $i -lt 300 ]; do i=$((i+1)); done; echo child $i", (char*)0);
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);
  printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return stale != 0;
}
