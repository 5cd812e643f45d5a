// mremap of pages holding code that has run: the code must run from where it was moved, the
// old address must be gone (SIGSEGV) or empty (MREMAP_DONTUNMAP), a target replaced by
// MREMAP_FIXED must run what was moved there, not what it held before, and code written after
// the move (self-modifying, at the new address) must run as written. Under the jit, each case
// means translations dropped and write-protection of code pages moved or lifted.
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE 4096
typedef int (*fn)(void);
static sigjmp_buf env;
static void on_fault(int s) { siglongjmp(env, s); }

// mov eax, imm32; ret — at `off` into the page.
static void put(uint8_t* p, size_t off, int v) {
  p[off] = 0xb8;
  memcpy(p + off + 1, &v, 4);
  p[off + 5] = 0xc3;
}
static void run(const char* what, uint8_t* p) {
  int s = sigsetjmp(env, 1);
  if (s == 0) printf("%s: %d\n", what, ((fn)p)());
  else printf("%s: signal %s\n", what, s == SIGSEGV ? "SIGSEGV" : "other");
}

int main(void) {
  signal(SIGSEGV, on_fault);
  signal(SIGILL, on_fault);
  signal(SIGBUS, on_fault);
  const int rwx = PROT_READ | PROT_WRITE | PROT_EXEC;
  const int anon = MAP_PRIVATE | MAP_ANONYMOUS;
  // A window of our own so that the fixed targets are free for us.
  uint8_t* w = mmap(NULL, 64 * PAGE, PROT_NONE, anon, -1, 0);
  munmap(w, 64 * PAGE);

  // Grown by moving: two pages of code, a neighbour in the way.
  uint8_t* a = mmap(w, 2 * PAGE, rwx, anon | MAP_FIXED, -1, 0);
  mmap(w + 2 * PAGE, PAGE, PROT_READ, anon | MAP_FIXED, -1, 0);
  put(a, 0, 11);
  put(a, PAGE + 16, 12);
  run("before the move", a);
  run("before the move, second page", a + PAGE + 16);
  uint8_t* b = mremap(a, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE);
  printf("moved: %d\n", b != MAP_FAILED && b != a);
  run("after the move", b);
  run("after the move, second page", b + PAGE + 16);
  run("old address", a);
  put(b, 0, 13);  // written where it now lives: the new code runs
  run("rewritten after the move", b);
  put(b, 3 * PAGE, 14);  // the pages the move added are code too
  run("grown part", b + 3 * PAGE);

  // MREMAP_FIXED over a page whose code has run: the target runs what was moved there.
  uint8_t* t = mmap(w + 10 * PAGE, PAGE, rwx, anon | MAP_FIXED, -1, 0);
  put(t, 0, 21);
  run("target before", t);
  uint8_t* s = mmap(w + 12 * PAGE, PAGE, rwx, anon | MAP_FIXED, -1, 0);
  put(s, 0, 22);
  run("source before", s);
  printf("fixed move: %d\n", mremap(s, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, t) == t);
  run("target after", t);
  run("source after", s);

  // MREMAP_DONTUNMAP: the source stays mapped, empty (zeros: `add [rax], al` with rax = 0
  // faults); the code runs at the new address.
  uint8_t* d = mmap(w + 20 * PAGE, PAGE, rwx, anon | MAP_FIXED, -1, 0);
  put(d, 0, 31);
  run("dontunmap before", d);
  uint8_t* e = mremap(d, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, w + 30 * PAGE);
  printf("dontunmap move: %d, old page zero: %d\n", e == w + 30 * PAGE, d[0] == 0 && d[5] == 0);
  run("dontunmap new", e);
  run("dontunmap old (zeros)", d);
  put(d, 0, 32);  // the old range is still ours: new code there runs
  run("dontunmap old rewritten", d);

  // Shrunk in place: the cut-off page is gone, the kept one still runs.
  uint8_t* f = mmap(w + 40 * PAGE, 2 * PAGE, rwx, anon | MAP_FIXED, -1, 0);
  put(f, 0, 41);
  put(f, PAGE, 42);
  run("shrink before", f + PAGE);
  printf("shrink: %d\n", mremap(f, 2 * PAGE, PAGE, 0) == f);
  run("shrink kept", f);
  run("shrink cut off", f + PAGE);
  return 0;
}
