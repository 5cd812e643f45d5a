// Atomic guest instructions between threads: 8 threads x 1,000,000 `lock add` and `lock
// cmpxchg` loops, with `lock xadd` and an `xchg` spinlock released by a plain store every 16th
// iteration, a counter straddling a cache line (a split lock) every 4,096th, and lock
// bts/btr/or/and/xor on words all threads change. (Split locks are few: a host with bus-lock
// detection traps each one, ~0.7 ms apiece on one Intel host under a nested hypervisor, where
// one every 16th iteration took the native run 8 minutes.) Any lost update shows in the totals. (The spinlock yields
// while it waits: 8 threads on fewer cores would otherwise spin through whole time slices of
// a preempted holder.)
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define THREADS 8
#define ITERS 1000000

static long add_counter;
static long xadd_counter;
static long cas_counter;
static long spin_protected;
static int spinlock;
static _Alignas(16) uint64_t pair[2];  // updated as one 16-byte value by lock cmpxchg16b
static uint64_t bits;                   // lock bts/btr: each thread owns one bit
static uint64_t or_mask;                // lock or
static uint64_t shared_bits;            // lock or / lock and: each thread sets and clears its bit
static long bit_lost;                   // times a thread found its own bit cleared while it held it
static unsigned char toggles;           // lock xor: each thread toggles its bit
// A 4-byte counter at offset 62 of a 64-byte aligned line: it straddles two cache lines.
static _Alignas(64) unsigned char line[128];

static void* worker(void* arg) {
  uint32_t* split = (uint32_t*)(line + 62);
  for (int i = 0; i < ITERS; i++) {
    __asm__ volatile("lock addq $1, %0" : "+m"(add_counter));
    long one = 1;
    long old = __atomic_load_n(&cas_counter, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(&cas_counter, &old, old + 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
    }
    if ((i & 4095) == 0) __asm__ volatile("lock addl $1, %0" : "+m"(*split));
    if ((i & 15) == 0) {
      __asm__ volatile("lock xaddq %0, %1" : "+r"(one), "+m"(xadd_counter));
      int v = 1;
      for (;;) {
        __asm__ volatile("xchgl %0, %1" : "+r"(v), "+m"(spinlock));
        if (!v) break;
        sched_yield();
        v = 1;
      }
      spin_protected++;  // plain read-modify-write, protected by the xchg lock
      __atomic_store_n(&spinlock, 0, __ATOMIC_RELEASE);  // a plain store releases it
      // A 16-byte counter: {n, 2n} stays consistent only if each update is one atomic access.
      uint64_t lo = pair[0], hi = pair[1];
      for (;;) {
        uint64_t nlo = lo + 1, nhi = hi + 2;
        unsigned char ok;
        __asm__ volatile("lock cmpxchg16b %1; sete %0"
                         : "=q"(ok), "+m"(*(unsigned __int128*)pair), "+a"(lo), "+d"(hi)
                         : "b"(nlo), "c"(nhi) : "cc", "memory");
        if (ok) break;
      }
      // lock bts / btr on this thread's own bit, lock or of a constant: neighbours' bits and
      // the other threads' updates of the same word must survive.
      long id = (long)arg;
      __asm__ volatile("lock btsq %1, %0" : "+m"(bits) : "r"(id) : "cc", "memory");
      __asm__ volatile("lock btrq %1, %0" : "+m"(bits) : "r"(id) : "cc", "memory");
      __asm__ volatile("lock orq %1, %0" : "+m"(or_mask) : "r"(1UL << (8 + id)) : "cc", "memory");
      // lock or / lock and of this thread's bit in a word every thread changes, and lock xor
      // toggling it in a byte: a lost update leaves a bit set, clears a bit its owner holds,
      // or breaks a toggle's parity (each bit is toggled an even number of times).
      __asm__ volatile("lock orq %1, %0" : "+m"(shared_bits) : "r"(1UL << id) : "cc", "memory");
      if (!(__atomic_load_n(&shared_bits, __ATOMIC_RELAXED) & (1UL << id)))
        __atomic_fetch_add(&bit_lost, 1, __ATOMIC_RELAXED);
      __asm__ volatile("lock andq %1, %0" : "+m"(shared_bits) : "r"(~(1UL << id)) : "cc", "memory");
      __asm__ volatile("lock xorb %1, %0" : "+m"(toggles) : "q"((unsigned char)(1u << id)) : "cc", "memory");
    }
  }
  return arg;
}

int main(void) {
  pthread_t t[THREADS];
  for (long i = 0; i < THREADS; i++) pthread_create(&t[i], 0, worker, (void*)i);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], 0);
  uint32_t split;
  memcpy(&split, line + 62, 4);
  printf("lock add:   %ld\n", add_counter);
  printf("lock xadd:  %ld\n", xadd_counter);
  printf("cmpxchg:    %ld\n", cas_counter);
  printf("split lock: %u\n", split);
  printf("xchg lock:  %ld\n", spin_protected);
  printf("cmpxchg16b: %lu %lu\n", (unsigned long)pair[0], (unsigned long)pair[1]);
  printf("bts/btr:    %#lx, or: %#lx\n", (unsigned long)bits, (unsigned long)or_mask);
  printf("or/and:     %#lx, lost %ld, xor: %#x\n", (unsigned long)shared_bits, bit_lost, toggles);
  const long sixteenth = (long)THREADS * (ITERS / 16);
  const long splits = (long)THREADS * ((ITERS + 4095) / 4096);
  int ok = add_counter == (long)THREADS * ITERS && cas_counter == add_counter && xadd_counter == sixteenth &&
           split == (uint32_t)splits && spin_protected == sixteenth && pair[0] == (uint64_t)sixteenth &&
           pair[1] == 2 * (uint64_t)sixteenth && bits == 0 && or_mask == 0xFF00 && shared_bits == 0 && bit_lost == 0 && toggles == 0;
  printf("%s\n", ok ? "exact" : "LOST UPDATES");
  return ok ? 0 : 1;
}
