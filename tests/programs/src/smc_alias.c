// Code changed through a second MAP_SHARED view of the same memfd (issue 21, item 12): one
// read-write view and one read-execute view, as JITs that keep W^X by dual mapping (.NET,
// Firefox, Erlang) do. Every rewrite through the RW view must be what the RX view runs.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void emit(unsigned char* p, uint32_t v) {
  p[0] = 0xb8;  // mov eax, imm32
  memcpy(p + 1, &v, 4);
  p[5] = 0xc3;  // ret
}

static uint64_t run(unsigned char* rw, unsigned char* rx, int n) {
  uint64_t sum = 0;
  for (int i = 0; i < n; ++i) {
    emit(rw + 64, (uint32_t)i * 7 + 1);
    sum += ((uint32_t (*)(void))(rx + 64))();
  }
  return sum;
}

int main(void) {
  int fd = memfd_create("code", 0);
  if (fd < 0 || ftruncate(fd, 8192) != 0) return 1;
  unsigned char* rw = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  unsigned char* rx = mmap(0, 8192, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
  if (rw == MAP_FAILED || rx == MAP_FAILED) return 1;
  uint64_t want = 0;
  for (int i = 0; i < 20000; ++i) want += (uint32_t)i * 7 + 1;
  uint64_t got = run(rw, rx, 20000);
  printf("both views first: %s\n", got == want ? "every rewrite seen" : "stale code ran");

  // A view created after the code has run: the new RW view's writes must be seen too.
  unsigned char* rx2 = mmap(0, 8192, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 4096);
  emit(rw + 4096 + 64, 5);
  uint32_t first = ((uint32_t (*)(void))(rx2 + 64))();
  unsigned char* rw2 = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096);
  emit(rw2 + 64, 6);
  uint32_t second = ((uint32_t (*)(void))(rx2 + 64))();
  printf("view made later: %u then %u\n", first, second);
  return 0;
}
