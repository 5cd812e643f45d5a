// mremap(MREMAP_DONTUNMAP): the pages move to the new address; the old range stays mapped and
// reads zeros (anonymous private memory); with MREMAP_FIXED the new address is the one given.
// Wrong uses are EINVAL. Also: code run from a page that madvise(MADV_DONTNEED) empties and
// that is written again is the new code (engines drop what they translated from it).
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

// The raw call: Debian 12's glibc passes a fifth argument only with MREMAP_FIXED, and newer
// kernels read it as a hint under MREMAP_DONTUNMAP.
static void* remap(void* old, size_t old_len, size_t new_len, int flags, void* new_addr) {
  return (void*)syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
}

static int maps_has(void* p) {
  FILE* f = fopen("/proc/self/maps", "r");
  char line[512];
  int found = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long a, b;
    if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a <= (unsigned long)p && (unsigned long)p < b) found = 1;
  }
  fclose(f);
  return found;
}

static void fill(char* p, size_t n, char c) { memset(p, c, n); }
static unsigned sum(const char* p, size_t n) {
  unsigned s = 0;
  for (size_t i = 0; i < n; ++i) s = s * 31 + (unsigned char)p[i];
  return s;
}

int main(void) {
  const size_t len = 3 * 4096;
  char* old = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  fill(old, len, 'x');
  unsigned before = sum(old, len);
  char* moved = remap(old, len, len, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0);
  if (moved == MAP_FAILED) { printf("mremap: %s\n", strerror(errno)); return 1; }
  printf("moved elsewhere: %d, contents kept: %d\n", moved != old, sum(moved, len) == before);
  printf("old still mapped: %d, reads zeros: %d\n", maps_has(old), old[0] == 0 && old[len - 1] == 0);
  old[5] = 'y';
  printf("old writable again: %d, new untouched: %d\n", old[5] == 'y', moved[5] == 'x');

  char* target = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  fill(target, len, 't');
  char* fixed = remap(moved, len, len, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, target);
  printf("fixed at target: %d, contents: %c, source emptied: %d\n", fixed == target, fixed[7], moved[7] == 0);

  errno = 0;
  printf("without MAYMOVE: %s\n", remap(old, len, len, MREMAP_DONTUNMAP, 0) == MAP_FAILED ? strerror(errno) : "ok");
  errno = 0;
  printf("growing: %s\n", remap(old, len, 2 * len, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0) == MAP_FAILED ? strerror(errno) : "ok");
  errno = 0;
  printf("overlapping target: %s\n",
         remap(old, len, len, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, old + 4096) == MAP_FAILED ? strerror(errno) : "ok");

  // Code on a page emptied by MADV_DONTNEED, then rewritten.
  unsigned char* code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  const unsigned char ret1[] = {0xb8, 1, 0, 0, 0, 0xc3};  // mov eax, 1; ret
  const unsigned char ret2[] = {0xb8, 2, 0, 0, 0, 0xc3};
  memcpy(code, ret1, sizeof ret1);
  int a = ((int (*)(void))code)();
  madvise(code, 4096, MADV_DONTNEED);
  printf("code page after DONTNEED reads zero: %d\n", code[0] == 0);
  memcpy(code, ret2, sizeof ret2);
  int b = ((int (*)(void))code)();
  printf("code before %d, after rewrite %d\n", a, b);
  return 0;
}
