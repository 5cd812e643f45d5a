// The vDSO's clocks: clock_gettime/gettimeofday/time through glibc (which calls the vDSO when
// AT_SYSINFO_EHDR names one) must agree with the system calls, never go backwards, and be
// served without a system call. With an argument N it is the benchmark: calls per N ms.
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int64_t ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

int main(int argc, char** argv) {
  if (argc > 1) {  // benchmark
    int64_t ms = atol(argv[1]);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long calls = 0;
    do {
      for (int i = 0; i < 1000; ++i) clock_gettime(CLOCK_MONOTONIC, &t);
      calls += 1000;
    } while (ns(t) - ns(t0) < ms * 1000000);
    printf("%ld clock_gettime calls in %ld ms\n", calls, (long)ms);
    return 0;
  }
  printf("vDSO present: %s\n", getauxval(AT_SYSINFO_EHDR) ? "yes" : "no");
  int backwards = 0, far = 0;
  struct timespec prev = {0, 0};
  for (int round = 0; round < 200000; ++round) {
    struct timespec v, s;
    clock_gettime(CLOCK_MONOTONIC, &v);
    if (ns(v) < ns(prev)) ++backwards;
    prev = v;
    if (round % 1000 == 0) {
      // The vDSO's answer must lie between two of the kernel's taken around it (1 ms of slack
      // for the vDSO's own clock source): true however long the thread is preempted between
      // the calls, unlike a fixed bound on the difference.
      struct timespec s2, r, rs, rs2;
      syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &s);
      clock_gettime(CLOCK_MONOTONIC, &v);
      syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &s2);
      if (ns(v) < ns(s) - 1000000 || ns(v) > ns(s2) + 1000000) ++far;
      syscall(SYS_clock_gettime, CLOCK_REALTIME, &rs);
      clock_gettime(CLOCK_REALTIME, &r);
      syscall(SYS_clock_gettime, CLOCK_REALTIME, &rs2);
      if (ns(r) < ns(rs) - 1000000 || ns(r) > ns(rs2) + 1000000) ++far;
    }
  }
  printf("monotonic went backwards: %d times; far from the kernel's: %d times\n", backwards, far);
  struct timeval tv;
  gettimeofday(&tv, NULL);
  time_t t = time(NULL);
  // time() reads the coarse clock, updated once a tick: just after a second begins it may
  // still give the previous one (natively too). Within a second either way is agreement.
  printf("gettimeofday and time agree: %s\n", (t - tv.tv_sec) <= 1 && (t - tv.tv_sec) >= -1 ? "yes" : "no");
  struct timespec res;
  clock_getres(CLOCK_MONOTONIC, &res);
  printf("clock_getres(CLOCK_MONOTONIC): %ld ns\n", res.tv_nsec);
  unsigned cpu = 99;
  printf("getcpu: %s\n", getcpu(&cpu, NULL) == 0 && cpu < 4096 ? "ok" : "failed");
  return 0;
}
