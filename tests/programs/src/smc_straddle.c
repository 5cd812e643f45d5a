// A store that straddles two pages which both hold translated code (issue 21, item 11): the
// jit handles the write fault of each page in turn and the store happens once, whole.
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
int main(void) {
  uint8_t* p = mmap(0, 8192, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(p, 0xC3, 8192);  // ret everywhere
  ((void (*)(void))(p + 16))();
  ((void (*)(void))(p + 4096 + 16))();
  volatile uint64_t* q = (uint64_t*)(p + 4092);
  *q = 0xC3C3C3C3C3C3C3C3ull;
  ((void (*)(void))(p + 4092))();
  ((void (*)(void))(p + 4096))();
  printf("straddling store over two code pages: ok\n");
  return 0;
}
