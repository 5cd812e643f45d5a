// A read watchpoint on a page the guest also executes (issue 18): a variable and a small
// function share one read-write-execute page. Under the jit the long loop must still run
// translated (only the instructions on the watched page are interpreted), and gdb sees the
// read made by the function on that page, and steps (stepi) out of it one instruction at a time.
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

long work(long n) {
  long s = 0;
  for (long i = 0; i < n; i++) s = s * 31 + (i ^ (s >> 7));
  return s;
}

volatile int* shared_value;  // page + 0x100, watched by gdb

int main(void) {
  unsigned char* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return 1;
  // mov eax, [rip + 0xfa] (page + 0x100); ret
  static const unsigned char fn[] = {0x8b, 0x05, 0xfa, 0x00, 0x00, 0x00, 0xc3};
  memcpy(page, fn, sizeof fn);
  shared_value = (volatile int*)(page + 0x100);
  *shared_value = 42;
  long s = work(3000000);  // gdb's rwatch is set before this
  int v = ((int (*)(void))page)();
  s += work(3000000);
  printf("s=%ld v=%d\n", s, v);
  return 0;
}
