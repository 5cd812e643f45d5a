// The program the jit watchpoint tests debug (built static with -g -O0): three long loops
// that must run translated, and two globals, each alone on its page, that gdb watches
// (watch, rwatch, awatch). Under the jit only the accesses to those pages are interpreted.
// System calls read and write a watched page too (the jit lifts its protection for them).
#include <stdio.h>
#include <time.h>
#include <unistd.h>

struct page {
  volatile long v;
  struct timespec ts;
  char cwd[512];
} __attribute__((aligned(4096)));  // (one page each)

struct page written = {0};  // watch / awatch
struct page read_once = {7};  // rwatch

long work(long n) {
  long s = 0;
  for (long i = 0; i < n; i++) s = s * 31 + (i ^ (s >> 7));
  return s;
}

int main(void) {
  long s = work(3000000);
  written.v = 1;
  s += work(3000000);
  read_once.ts.tv_sec = 0;
  read_once.ts.tv_nsec = 1000;
  int slept = nanosleep(&read_once.ts, NULL);           // the kernel side reads the page
  int cwd = getcwd(read_once.cwd, sizeof read_once.cwd) != NULL;  // ... and writes it
  long r = read_once.v;
  s += work(3000000) + r;
  written.v = 2;
  printf("s=%ld written=%ld r=%ld slept=%d cwd=%d\n", s, written.v, r, slept, cwd);
  return 0;
}
