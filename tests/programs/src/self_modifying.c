/* Self-modifying code, the way JITs and trampolines do it: machine code written into an
 * mmap'd buffer, run, rewritten and run again — by stores, by read() from a file and by
 * memcpy — plus data living on the same page as code, and a function that patches its own
 * caller's next call target while running. x86 guarantees the new bytes execute; an emulator
 * that caches translations must notice every one of these writes. */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"

typedef int (*fn_t)(void);

/* mov eax, imm32 ; ret */
static void emit_return(uint8_t* p, int32_t value) {
  p[0] = 0xB8;
  memcpy(p + 1, &value, 4);
  p[5] = 0xC3;
}

int main(void) {
  uint8_t* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(page != MAP_FAILED);
  fn_t f = (fn_t)page;

  /* 1. write, run, rewrite, run — many times, so a translation is cached in between. */
  long sum = 0;
  for (int i = 0; i < 200; i++) {
    emit_return(page, i);
    sum += f();
    sum += f(); /* twice: the second call runs the cached translation */
  }
  printf("rewrite loop: %ld\n", sum);
  CHECK(sum == 2 * (199 * 200 / 2));

  /* 2. only the immediate changes (one byte), the block is otherwise identical. */
  emit_return(page, 1000);
  int a = f();
  page[1] = 0x2A; /* 1000 = 0x3E8 -> 0x32A */
  int b = f();
  printf("one-byte patch: %d -> %d\n", a, b);
  CHECK(a == 1000 && b == 0x32A);

  /* 3. code arrives by read() from a file (the kernel writes the page, not the program). */
  int fd = open("code.bin", O_RDWR | O_CREAT | O_TRUNC, 0600);
  uint8_t code[6];
  emit_return(code, 77);
  CHECK(write(fd, code, 6) == 6);
  CHECK(lseek(fd, 0, SEEK_SET) == 0);
  CHECK(read(fd, page, 6) == 6);
  close(fd);
  unlink("code.bin");
  int c = f();
  printf("code from read(): %d\n", c);
  CHECK(c == 77);

  /* 4. data on the same page as code: a counter at page+2048 updated between calls. */
  volatile int* counter = (volatile int*)(page + 2048);
  *counter = 0;
  emit_return(page, 5);
  int total = 0;
  for (int i = 0; i < 100; i++) {
    total += f();
    (*counter)++;
  }
  printf("data next to code: total %d counter %d\n", total, *counter);
  CHECK(total == 500 && *counter == 100);

  /* 5. code that patches the instruction after itself, inside one straight-line run:
   *    mov byte [rip+1], 9 ; mov eax, 1 ; ret   -> returns 9 */
  uint8_t patch_self[] = {0xC6, 0x05, 0x01, 0x00, 0x00, 0x00, 0x09, 0xB8, 0x01, 0x00, 0x00, 0x00, 0xC3};
  memcpy(page + 64, patch_self, sizeof patch_self);
  int d = ((fn_t)(page + 64))();
  printf("patches its own next instruction: %d\n", d);
  CHECK(d == 9);

  /* 6. W^X style: write with the page RW, flip to RX, run, flip back. */
  uint8_t* wx = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int wsum = 0;
  for (int i = 0; i < 10; i++) {
    CHECK(mprotect(wx, 4096, PROT_READ | PROT_WRITE) == 0);
    emit_return(wx, i * i);
    CHECK(mprotect(wx, 4096, PROT_READ | PROT_EXEC) == 0);
    wsum += ((fn_t)wx)();
  }
  printf("W^X flips: %d\n", wsum);
  CHECK(wsum == 285);

  munmap(wx, 4096);
  munmap(page, 4096);
  return finish("self_modifying");
}
