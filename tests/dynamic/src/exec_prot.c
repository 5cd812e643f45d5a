// Execute permission as Linux enforces it: code runs from PROT_EXEC pages (execute-only and
// writable+executable included) and a jump into a page without PROT_EXEC is SIGSEGV with
// SEGV_ACCERR at the jump target, reported as the faulting pc. The legacy vsyscall entry points
// (gettimeofday, time, getcpu at 0xffffffffff600000) work as in Linux's emulated mode.
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf back;
static volatile uintptr_t fault_pc, fault_addr;
static volatile int fault_code;

static void on_segv(int sig, siginfo_t* si, void* uc) {
  fault_addr = (uintptr_t)si->si_addr;
  fault_code = si->si_code;
  fault_pc = ((ucontext_t*)uc)->uc_mcontext.gregs[REG_RIP];
  siglongjmp(back, 1);
}

static const unsigned char ret42[] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3};  // mov eax,42; ret

static void try_run(const char* what, int prot) {
  unsigned char* p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memcpy(p, ret42, sizeof ret42);
  mprotect(p, 4096, prot);
  fault_code = 0;
  if (sigsetjmp(back, 1) == 0) {
    int r = ((int (*)(void))p)();
    printf("%s: ran, returned %d\n", what, r);
  } else {
    printf("%s: SIGSEGV %s, pc %s, addr %s\n", what,
           fault_code == SEGV_ACCERR ? "SEGV_ACCERR" : fault_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other",
           fault_pc == (uintptr_t)p ? "= the page" : "elsewhere", fault_addr == (uintptr_t)p ? "= the page" : "elsewhere");
  }
  munmap(p, 4096);
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, NULL);

  try_run("read+exec", PROT_READ | PROT_EXEC);
  try_run("exec only", PROT_EXEC);
  try_run("read+write", PROT_READ | PROT_WRITE);
  try_run("read only", PROT_READ);

  // W+X: code written, run, rewritten and run again in the same page.
  unsigned char* w = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memcpy(w, ret42, sizeof ret42);
  int a = ((int (*)(void))w)();
  w[1] = 7;
  int b = ((int (*)(void))w)();
  printf("write+exec: %d then %d\n", a, b);

  // Taking PROT_EXEC away from code that already ran.
  mprotect(w, 4096, PROT_READ | PROT_WRITE);
  if (sigsetjmp(back, 1) == 0) printf("after mprotect(RW): ran %d\n", ((int (*)(void))w)());
  else printf("after mprotect(RW): SIGSEGV %s\n", fault_code == SEGV_ACCERR ? "SEGV_ACCERR" : "other");

  // The data and the stack are not executable.
  static unsigned char data_code[16] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3};
  if (sigsetjmp(back, 1) == 0) printf("data: ran %d\n", ((int (*)(void))data_code)());
  else printf("data: SIGSEGV %s\n", fault_pc == (uintptr_t)data_code ? "at its pc" : "elsewhere");

  // vsyscall page, emulated.
  struct timeval tv = {0, 0};
  long r = ((long (*)(struct timeval*, void*))0xffffffffff600000)(&tv, NULL);
  time_t t = ((time_t (*)(time_t*))0xffffffffff600400)(NULL);
  unsigned cpu = 999;
  long c = ((long (*)(unsigned*, unsigned*, void*))0xffffffffff600800)(&cpu, NULL, NULL);
  printf("vsyscall gettimeofday %ld (%s), time %s, getcpu %ld (%s)\n", r,
         tv.tv_sec > 1600000000 ? "plausible" : "wrong", t - tv.tv_sec <= 1 ? "agrees" : "wrong", c,
         cpu < 4096 ? "plausible" : "wrong");
  if (sigsetjmp(back, 1) == 0) ((void (*)(void))0xffffffffff600100)();
  else printf("vsyscall page elsewhere: SIGSEGV\n");
  return 0;
}
