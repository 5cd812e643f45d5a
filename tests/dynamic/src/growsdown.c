// MAP_GROWSDOWN: the mapping grows down when the program touches the pages below it, up to the
// previous mapping's end less the stack guard gap (Linux mm/mmap.c, expand_downwards) and to
// RLIMIT_STACK; other accesses below it fault.
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static sigjmp_buf back;
static void on_segv(int sig, siginfo_t* si, void* uc) { (void)uc; siglongjmp(back, sig); }

static int touch(volatile char* p, const char* what) {
  int sig = sigsetjmp(back, 1);
  if (sig == 0) {
    *p = 42;
    printf("%s: wrote, reads back %d\n", what, *p);
    return 0;
  }
  printf("%s: signal %d\n", what, sig);
  return sig;
}

static void show(char* lo, char* hi) {
  FILE* f = fopen("/proc/self/maps", "r");
  char line[512];
  while (fgets(line, sizeof line, f)) {
    unsigned long a, b;
    if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a < (unsigned long)hi && b > (unsigned long)lo)
      printf("  maps: +%#lx-+%#lx %.4s\n", a - (unsigned long)lo, b - (unsigned long)lo, strchr(line, ' ') + 1);
  }
  fclose(f);
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, 0);
  // A fixed area of 64 MiB: a low neighbour at its bottom, the growsdown mapping near the top.
  char* base = (char*)0x200000000000;
  char* area = mmap(base, 64 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (area != base) { perror("mmap"); return 1; }
  munmap(area, 64 << 20);
  char* low = mmap(base, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  char* gd = mmap(base + (8 << 20), 16384, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN, -1, 0);
  if (low == MAP_FAILED || gd == MAP_FAILED) { perror("mmap"); return 1; }
  show(base, base + (64 << 20));
  touch(gd + 100, "inside");
  touch(gd - 1, "one byte below");
  touch(gd - 5000, "two pages below");
  touch(gd - (1 << 20), "1 MiB below");
  show(base, base + (64 << 20));
  // Within the guard gap above the low neighbour: no growth.
  touch(low + 4096 + 4096, "just above the neighbour");
  touch(low + (1 << 20) + 8192, "a gap above the neighbour");
  show(base, base + (64 << 20));
  return 0;
}
