/* Time without printing the current time: monotonic clock differences are >= 0, time() is after
 * a fixed date, and gmtime/strftime/timegm are applied to FIXED timestamps only. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include "common.h"

int main(void) {
  struct timespec a, b, res;
  CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
  volatile unsigned long spin = 0;
  for (int i = 0; i < 100000; i++) spin += (unsigned long)i;
  struct timespec nap = {0, 2000000};
  CHECK(nanosleep(&nap, NULL) == 0);
  CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0);
  long long diff = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
  printf("monotonic diff >= 2ms: %d\n", diff >= 2000000);
  CHECK(diff >= 2000000);
  printf("nsec in range: %d\n", a.tv_nsec >= 0 && a.tv_nsec < 1000000000 && b.tv_nsec < 1000000000);
  CHECK(clock_getres(CLOCK_MONOTONIC, &res) == 0);
  printf("resolution <= 1ms: %d\n", res.tv_sec == 0 && res.tv_nsec <= 1000000);
  time_t now = time(NULL);
  printf("time() after 2020-01-01: %d\n", now > 1577836800);
  struct timeval tv;
  CHECK(gettimeofday(&tv, NULL) == 0);
  printf("gettimeofday agrees with time(): %d\n", tv.tv_sec >= now && tv.tv_sec - now < 5);
  struct timespec rt;
  CHECK(clock_gettime(CLOCK_REALTIME, &rt) == 0);
  printf("realtime agrees: %d\n", rt.tv_sec >= now && rt.tv_sec - now < 5);
  struct timespec cpu;
  printf("process cputime available: %d\n", clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0);
  const time_t fixed[] = {0, 951782400 /* 2000-02-29 */, 1234567890, 2147483647, 4102444799LL, -86400};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
    struct tm tm;
    CHECK(gmtime_r(&fixed[i], &tm) != NULL);
    char buf[128];
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %a %b %j %U %w %y %e|%D %T|%s", &tm);
    printf("%lld -> %s yday=%d\n", (long long)fixed[i], buf, tm.tm_yday);
    CHECK(timegm(&tm) == fixed[i]);
  }
  struct tm t = {.tm_year = 124, .tm_mon = 13, .tm_mday = 35, .tm_hour = 25};
  time_t norm = timegm(&t);
  printf("normalized: %lld %04d-%02d-%02d %02d\n", (long long)norm, t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour);
  char asc[64];
  struct tm fixed_tm;
  time_t ft = 1000000000;
  gmtime_r(&ft, &fixed_tm);
  printf("asctime: %s", asctime_r(&fixed_tm, asc));
  fprintf(stderr, "time_funcs done\n");
  return finish("time_funcs");
}
