/* Vireo's vDSO: the code the guest's libc calls for clock_gettime, gettimeofday, time, getcpu
 * and clock_getres (what Linux's x86-64 vDSO exports, version LINUX_2.6). Built by the project
 * as a tiny position-independent shared object with no relocations (vdso.lds), embedded in
 * Vireo and mapped into every guest (AT_SYSINFO_EHDR).
 *
 * The fast path reads the TSC and the data page Vireo fills ([vvar], just below the image);
 * anything it cannot answer becomes the real system call, which Vireo serves. */
#include "vdso_data.h"

struct vdso_timespec { int64_t tv_sec; int64_t tv_nsec; };
struct vdso_timeval { int64_t tv_sec; int64_t tv_usec; };

enum { SYS_gettimeofday = 96, SYS_time = 201, SYS_clock_gettime = 228, SYS_clock_getres = 229,
       SYS_getcpu = 309 };
enum { CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1 };

/* The image's own first byte (the ELF header); the data page is the page before it. */
extern const char __ehdr_start[] __attribute__((visibility("hidden")));

static inline const struct vireo_vdso_data* data(void) {
  return (const struct vireo_vdso_data*)(__ehdr_start - VIREO_VVAR_SIZE);
}

static inline long syscall3(long nr, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}

static inline uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

/* 0 and *ts set, or -1 if the page cannot answer (clock not covered, not calibrated, stale). */
static inline int fast_clock(int clock, struct vdso_timespec* ts) {
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return -1;
  const struct vireo_vdso_data* d = data();
  uint32_t seq;
  int64_t sec, nsec;
  do {
    seq = d->seq;
    __asm__ volatile("" ::: "memory");
    if ((seq & 1) || !d->valid) return -1;
    uint64_t delta = rdtsc() - d->tsc_base;
    if (delta > d->max_delta) return -1;
    uint64_t ns = (uint64_t)(((unsigned __int128)delta * d->mult) >> 32);
    sec = clock == CLOCK_REALTIME ? d->real_sec : d->mono_sec;
    nsec = (clock == CLOCK_REALTIME ? d->real_nsec : d->mono_nsec) + (int64_t)ns;
    __asm__ volatile("" ::: "memory");
  } while (d->seq != seq);
  while (nsec >= 1000000000) {  /* ns is below max_delta's ~1 s: at most a couple of turns */
    nsec -= 1000000000;
    ++sec;
  }
  ts->tv_sec = sec;
  ts->tv_nsec = nsec;
  return 0;
}

int __vdso_clock_gettime(int clock, struct vdso_timespec* ts) {
  if (fast_clock(clock, ts) == 0) return 0;
  return (int)syscall3(SYS_clock_gettime, clock, (long)ts, 0);
}

int __vdso_gettimeofday(struct vdso_timeval* tv, void* tz) {
  struct vdso_timespec ts;
  if (tz || !tv || fast_clock(CLOCK_REALTIME, &ts) != 0)
    return (int)syscall3(SYS_gettimeofday, (long)tv, (long)tz, 0);
  tv->tv_sec = ts.tv_sec;
  tv->tv_usec = ts.tv_nsec / 1000;
  return 0;
}

int64_t __vdso_time(int64_t* t) {
  struct vdso_timespec ts;
  if (fast_clock(CLOCK_REALTIME, &ts) != 0) return syscall3(SYS_time, (long)t, 0, 0);
  if (t) *t = ts.tv_sec;
  return ts.tv_sec;
}

long __vdso_getcpu(unsigned* cpu, unsigned* node, void* cache) {
  return syscall3(SYS_getcpu, (long)cpu, (long)node, (long)cache);
}

int __vdso_clock_getres(int clock, struct vdso_timespec* res) {
  return (int)syscall3(SYS_clock_getres, clock, (long)res, 0);
}

/* The unprefixed names, as Linux's vDSO also exports them. */
int clock_gettime(int, struct vdso_timespec*) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct vdso_timeval*, void*) __attribute__((weak, alias("__vdso_gettimeofday")));
int64_t time(int64_t*) __attribute__((weak, alias("__vdso_time")));
long getcpu(unsigned*, unsigned*, void*) __attribute__((weak, alias("__vdso_getcpu")));
int clock_getres(int, struct vdso_timespec*) __attribute__((weak, alias("__vdso_clock_getres")));
