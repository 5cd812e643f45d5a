// A storm of fixed shared mappings, the shape of Go's runtime test TestMemmoveOverflow: one
// file mapped 64 KiB at a time, MAP_SHARED|MAP_FIXED, thousands of times side by side over a
// reserved region, a store into every page, the views mapped over again, and every view
// unmapped one by one, last first (Go's deferred munmaps). Meanwhile a second thread runs code
// after every 64 calls, among it a function in a shared view of another file (the W^X dual
// mapping of a guest JIT) that the main thread rewrites through a writable view of it: a storm
// of views of one file must not make any thread drop code of another (nor all of its code),
// yet a rewrite through a view must still be seen through the other. Every result is
// independent of scheduling.
//
// Usage: mmap_storm [VIEWS]  (default 8192: 512 MiB of address space, 64 KiB of memory)
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define VIEW (64 << 10)
#define BATCH 64

static sem_t go_worker, worker_done;
static int (*volatile code_rx)(int);  // the code file's executable view
static volatile int stop;
static long worker_sum, worker_rounds;
static int last_result;  // what the code file's function returned in the last round

static int mix(int x) {  // plain code of the program's own text
  unsigned h = (unsigned)x * 2654435761u;
  return (int)(h ^ (h >> 13));
}

static void* worker(void* arg) {
  (void)arg;
  for (;;) {
    sem_wait(&go_worker);
    if (stop) break;
    int acc = 0;
    for (int i = 0; i < 100; i++) acc += mix(i + (int)worker_rounds) & 0xff;
    last_result = code_rx((int)worker_rounds);
    worker_sum += acc;
    worker_rounds++;
    sem_post(&worker_done);
  }
  return 0;
}

static void round_trip(void) {
  sem_post(&go_worker);
  sem_wait(&worker_done);
}

// `lea eax, [rdi + k]; ret` written through the code file's writable view.
static void write_function(uint8_t* rw, int k) {
  uint8_t f[7] = {0x8D, 0x87, 0, 0, 0, 0, 0xC3};
  memcpy(f + 2, &k, 4);
  memcpy(rw, f, sizeof f);
}

static int memfd(const char* name, size_t size) {
  int fd = (int)syscall(SYS_memfd_create, name, 0);
  if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
    perror("memfd");
    exit(2);
  }
  return fd;
}

int main(int argc, char** argv) {
  const long views = argc > 1 ? atol(argv[1]) : 8192;
  const size_t total = (size_t)views * VIEW;

  int code_fd = memfd("code", 4096);
  uint8_t* code_rw = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, code_fd, 0);
  code_rx = (int (*)(int))mmap(0, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, code_fd, 0);
  if (code_rw == MAP_FAILED || (void*)code_rx == MAP_FAILED) return 2;
  write_function(code_rw, 0);

  sem_init(&go_worker, 0, 0);
  sem_init(&worker_done, 0, 0);
  pthread_t t;
  pthread_create(&t, 0, worker, 0);
  round_trip();

  int fd = memfd("storm", 2 * VIEW);
  // Reserve, free, then fill the region view by view (TestMemmoveOverflow's set-up).
  uint8_t* base = mmap(0, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return 2;
  munmap(base, total);
  long failed = 0, stale = 0;
  for (long i = 0; i < views; i++) {
    if (mmap(base + i * VIEW, VIEW, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) != base + i * VIEW)
      failed++;
    if (i % BATCH == BATCH - 1) {
      // A new version of the worker's function, through the other view of its file.
      write_function(code_rw, (int)(i / BATCH));
      const long round = worker_rounds;
      round_trip();
      stale += last_result != round + i / BATCH;
    }
  }
  printf("mapped %ld views of 64 KiB, %ld failed\n", views, failed);

  // Every view shows the same file: a write through one is read through all.
  for (int i = 0; i < VIEW; i++) base[i] = (uint8_t)(i * 7 + 3);
  long differ = 0;
  for (long i = 1; i < views; i++) differ += memcmp(base + i * VIEW + (i % 16) * 4096, base + (i % 16) * 4096, 512) != 0;
  printf("views showing other bytes: %ld\n", differ);
  // A store into every page of the region, in address order (the file's bytes end up counting
  // the stores to each of them; a memmove over aliased views would leave what the libc's
  // variant for the CPU leaves).
  for (size_t off = 0; off < total; off += 4096) base[off + (off / 4096) % 4093] += 1;
  uint64_t h = 0xcbf29ce484222325ull;
  for (int i = 0; i < VIEW; i++) h = (h ^ base[i]) * 0x100000001b3ull;
  printf("after a store to every page: %016llx\n", (unsigned long long)h);

  // The same views again, each mapped over the one it replaces, 4 KiB further into the file.
  for (long i = 0; i < views; i++)
    if (mmap(base + i * VIEW, VIEW, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 4096) != base + i * VIEW)
      failed++;
  differ = 0;
  for (long i = 1; i < views; i++) differ += memcmp(base + i * VIEW + (i % 16) * 4096, base + (i % 16) * 4096, 512) != 0;
  printf("remapped, %ld failed, %ld differ; first byte %d\n", failed, differ, base[0]);

  // Unmapped one by one from the last (deferred munmaps run last first).
  long unmap_failed = 0;
  for (long i = views - 1; i >= 0; i--) {
    unmap_failed += munmap(base + i * VIEW, VIEW) != 0;
    if (i % BATCH == 0) round_trip();
  }
  printf("unmapped, %ld failed\n", unmap_failed);

  stop = 1;
  sem_post(&go_worker);
  pthread_join(t, 0);
  printf("worker: %ld rounds, sum %ld, %ld ran stale code\n", worker_rounds, worker_sum, stale);
  return failed || unmap_failed || differ || stale;
}
