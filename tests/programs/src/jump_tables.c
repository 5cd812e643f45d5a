/* Dispatch through jump tables (a translator may read a read-only table when it translates the
 * jump; docs/performance-history.md, "Steady state, interpreter loops"): a switch over a byte opcode (a
 * table of offsets in .rodata) and a computed goto through a table of label addresses, each run
 * hot; then the label table is rewritten in place (its page made writable and read-only
 * again), so that the translated dispatch's computed slots are stale, and run again; then a
 * handler faults on a null pointer inside the hot loop, caught by a SIGSEGV handler that
 * reports the fault address. */
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"

static unsigned char ops[4096];

static __attribute__((noinline)) uint64_t run_switch(size_t n) {
  uint64_t acc = 1;
  for (size_t i = 0; i < n; i++) {
    switch (ops[i]) {
      case 0: acc += 3; break;
      case 1: acc ^= acc << 7; break;
      case 2: acc = acc * 5 + 1; break;
      case 3: acc ^= acc >> 9; break;
      case 4: acc -= 11; break;
      case 5: acc = (acc << 3) | (acc >> 61); break;
      case 6: acc += i; break;
      default: acc ^= 0x5555; break;
    }
  }
  return acc;
}

/* The label table lives in a static array the program may rewrite: page-aligned, so that
 * mprotect covers it alone. */
static void* table[8] __attribute__((aligned(4096)));
static volatile long* volatile null_slot;

static __attribute__((noinline)) uint64_t run_goto(size_t n, int fill) {
  static void* const labels[8] = {&&op0, &&op1, &&op2, &&op3, &&op4, &&op5, &&op6, &&op7};
  if (fill) memcpy(table, labels, sizeof labels);
  uint64_t acc = 7;
  size_t i = 0;
#define NEXT \
  if (i == n) return acc; \
  goto* table[ops[i++] & 7]
  NEXT;
op0: acc += 5; NEXT;
op1: acc ^= acc << 11; NEXT;
op2: acc = acc * 3 + 7; NEXT;
op3: acc ^= acc >> 5; NEXT;
op4: acc -= 13; NEXT;
op5: acc = (acc << 9) | (acc >> 55); NEXT;
op6: acc += i * 3; NEXT;
op7: acc += (uint64_t)*null_slot; NEXT; /* faults while null_slot is null */
#undef NEXT
}

static sigjmp_buf recover;
static void on_segv(int sig, siginfo_t* si, void* uc) {
  (void)sig; (void)uc;
  printf("SIGSEGV at %p\n", si->si_addr);
  siglongjmp(recover, 1);
}

int main(void) {
  for (size_t i = 0; i < sizeof ops; i++) ops[i] = (unsigned char)rng_below(8);
  uint64_t s = 0;
  for (int r = 0; r < 300; r++) s += run_switch(sizeof ops);
  printf("switch %016llx\n", (unsigned long long)s);

  /* op 7 dereferences null_slot: point it at a value while the table is hot. The table is
   * filled, then made read-only before the hot runs (the jit computes its slots only from a
   * table it cannot see change without an mprotect). */
  static long seven = 7;
  null_slot = &seven;
  uint64_t g = run_goto(0, 1); /* (fills the table, runs nothing) */
  CHECK(mprotect(table, 4096, PROT_READ) == 0);
  for (int r = 0; r < 300; r++) g += run_goto(sizeof ops, 0);
  printf("goto %016llx\n", (unsigned long long)g);

  /* Swap two handlers in the table, through mprotect, and run the same dispatch again. */
  CHECK(mprotect(table, 4096, PROT_READ | PROT_WRITE) == 0);
  void* t = table[0];
  table[0] = table[2];
  table[2] = t;
  CHECK(mprotect(table, 4096, PROT_READ) == 0);
  g = 0;
  for (int r = 0; r < 100; r++) g += run_goto(sizeof ops, 0);
  printf("goto swapped %016llx\n", (unsigned long long)g);

  /* A fault inside the hot dispatch loop. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
  null_slot = NULL;
  if (sigsetjmp(recover, 1) == 0) {
    g = run_goto(sizeof ops, 0);
    printf("no fault %016llx\n", (unsigned long long)g);
  }
  return finish("jump_tables");
}
