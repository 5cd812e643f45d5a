// Uses N MiB of the main stack (recursion with 64 KiB frames, each touched): with
// `ulimit -s 32768` Linux lets a program use some 31 MiB; Vireo must size the guest's main
// stack by RLIMIT_STACK the same way. Usage: stack_use N
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static unsigned long depth(unsigned long frames) {
  volatile char frame[64 * 1024];
  memset((char*)frame, (int)frames, sizeof frame);
  if (frames <= 1) return frame[100];
  return depth(frames - 1) + frame[sizeof frame - 1];
}

int main(int argc, char** argv) {
  unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 30;
  struct rlimit r;
  getrlimit(RLIMIT_STACK, &r);
  printf("RLIMIT_STACK %lu KiB\n", (unsigned long)r.rlim_cur / 1024);
  unsigned long sum = depth(mib * 16);
  printf("used %lu MiB of stack (%lu)\n", mib, sum);
  return 0;
}
