/* Helpers for the Linux-interface test programs: checked system calls that count failures (see
 * CHECK and finish() in common.h) and a time bound for tests that could hang. */
#ifndef VIREO_API_TEST_H
#define VIREO_API_TEST_H
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

/* Evaluates a call that returns -1 and sets errno on failure; a failure is reported with the
 * line and counted. Yields the call's value. */
#define OK(call)                                                                   \
  ({                                                                               \
    long ok_r_ = (long)(call);                                                     \
    if (ok_r_ < 0) {                                                               \
      check_failures++;                                                            \
      fprintf(stderr, "line %d: %s failed: %s\n", __LINE__, #call, strerror(errno)); \
    }                                                                              \
    ok_r_;                                                                         \
  })

/* A call that must fail with errno `e`. */
#define FAILS_WITH(call, e)                                                        \
  do {                                                                             \
    errno = 0;                                                                     \
    long fw_r_ = (long)(call);                                                     \
    if (fw_r_ != -1 || errno != (e)) {                                             \
      check_failures++;                                                            \
      fprintf(stderr, "line %d: %s = %ld (%s), expected -1 %s\n", __LINE__, #call, \
              fw_r_, strerror(errno), strerror(e));                                \
    }                                                                              \
  } while (0)

/* A test that hangs dies by SIGALRM instead: compare-run sees the same status natively only if
 * nothing hung there either, so a hang under Vireo shows as a status mismatch. */
static inline void time_bound(unsigned seconds) { alarm(seconds); }

/* Writes or reads exactly n bytes (sockets and pipes may transfer less per call). */
static inline int write_all(int fd, const void* buf, size_t n) {
  const char* p = (const char*)buf;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w, n -= (size_t)w;
  }
  return 0;
}
static inline long read_all(int fd, void* buf, size_t n) {
  char* p = (char*)buf;
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, p + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    got += (size_t)r;
  }
  return (long)got;
}
#endif
