/* Explicit mmap/munmap/mremap/mprotect: anonymous private and shared mappings, growing with
 * MREMAP_MAYMOVE, partial unmapping, MAP_FIXED, and a file mapping. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "common.h"

int main(void) {
  long page = sysconf(_SC_PAGESIZE);
  printf("page size %ld\n", page);
  size_t len = 64 * (size_t)page;
  unsigned char* a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(a != MAP_FAILED);
  int zero = 1;
  for (size_t i = 0; i < len; i += 512) zero &= a[i] == 0;
  printf("fresh anonymous mapping zeroed: %d\n", zero);
  for (size_t i = 0; i < len; i++) a[i] = (unsigned char)(i / 4096 + i);
  unsigned char* b = mremap(a, len, 4 * len, MREMAP_MAYMOVE);
  CHECK(b != MAP_FAILED);
  int kept = 1;
  for (size_t i = 0; i < len; i++) kept &= b[i] == (unsigned char)(i / 4096 + i);
  int tailzero = 1;
  for (size_t i = len; i < 4 * len; i += 256) tailzero &= b[i] == 0;
  printf("mremap grow: contents kept %d, new tail zero %d\n", kept, tailzero);
  CHECK(kept && tailzero);
  unsigned char* c = mremap(b, 4 * len, len / 2, 0);
  printf("mremap shrink in place: %d\n", c == b);
  CHECK(c == b);
  /* Punch a hole and put a fixed mapping into it. */
  CHECK(munmap(c + 4 * page, 4 * page) == 0);
  unsigned char* f = mmap(c + 4 * page, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  printf("MAP_FIXED at requested address: %d, byte %d\n", f == c + 4 * page, f[0]);
  CHECK(mprotect(c, page, PROT_READ) == 0);
  printf("after mprotect read %d\n", c[5]);
  CHECK(munmap(c, len / 2) == 0);
  errno = 0;
  void* bad = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("zero-length mmap: %s errno %s\n", bad == MAP_FAILED ? "failed" : "succeeded", errno == EINVAL ? "EINVAL" : "other");
  int* shared = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  shared[0] = 1234;
  printf("shared anon %d\n", shared[0]);
  munmap(shared, (size_t)page);
  /* File-backed mapping of a file written in the working directory. */
  int fd = open("mapped.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
  char text[] = "file mapped through mmap\n";
  CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
  CHECK(ftruncate(fd, page) == 0);
  char* m = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(m != MAP_FAILED);
  printf("mapped: %.24s\n", m);
  memcpy(m, "FILE", 4);
  CHECK(msync(m, (size_t)page, MS_SYNC) == 0);
  munmap(m, (size_t)page);
  char back[8] = {0};
  CHECK(pread(fd, back, 4, 0) == 4);
  printf("written through mapping: %s\n", back);
  close(fd);
  unlink("mapped.bin");
  fprintf(stderr, "mmap_mremap done\n");
  return finish("mmap_mremap");
}
