// Code rewritten on *checked* pages (docs/jit.md, "Checked pages"): once a code page has taken
// a few write faults for new code written next to code that runs, the jit leaves it writable
// and its blocks compare their guest bytes with memory at entry. Every way a checked block
// could go stale must still run the new bytes:
//  - a function rewritten in place and called again (no fault tells the jit);
//  - a store in a block to the next instruction of the same block;
//  - a store from a block to another function on its own page;
//  - a block that spans two pages, with only its bytes on the second (checked) page rewritten.
// The pages are made checked first by writing functions one after another, each called once.
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef uint32_t (*fn0)(void);
typedef uint32_t (*fn1)(uint32_t);

static uint8_t* arena;

// mov eax, imm32 ; ret
static void put_const(uint8_t* at, uint32_t v) {
  uint8_t f[6] = {0xB8, 0, 0, 0, 0, 0xC3};
  memcpy(f + 1, &v, 4);
  memcpy(at, f, sizeof f);
}

// Functions written one after another on a page, each called: after a few, the page is checked.
static uint32_t warm_page(uint8_t* page) {
  uint32_t sum = 0;
  for (int i = 0; i < 16; i++) {
    put_const(page + 64 * i, 100u + (uint32_t)i);
    sum += ((fn0)(page + 64 * i))();
  }
  return sum;
}

int main(void) {
  arena = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (arena == MAP_FAILED) return 1;
  memset(arena, 0xC3, 3 * 4096);
  uint8_t* p0 = arena;
  uint8_t* p2 = arena + 2 * 4096;
  uint32_t sum = warm_page(p0) + warm_page(p2);
  int bad = 0;

  // 1. Rewritten in place, each version called several times.
  for (uint32_t k = 0; k < 3000; k++) {
    put_const(p0, k * 7919u);
    for (int c = 0; c < 3; c++) bad += ((fn0)p0)() != k * 7919u;
  }

  // 2. mov byte [rip+1], imm8 ; mov eax, 0x11111111 ; ret — the store patches the low byte of
  //    the next instruction's immediate; the imm8 itself is rewritten from here each round.
  uint8_t* g = p0 + 0x400;
  const uint8_t gcode[] = {0xC6, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00, 0xB8, 0x11, 0x11, 0x11, 0x11, 0xC3};
  memcpy(g, gcode, sizeof gcode);
  for (uint32_t k = 0; k < 1000; k++) {
    g[6] = (uint8_t)k;
    for (int c = 0; c < 2; c++) bad += ((fn0)g)() != (0x11111100u | (k & 0xFF));
  }

  // 3. w(x): mov [rip+d], edi ; ret — stores x as the immediate of f1 (p0 + 64) on its own page.
  uint8_t* w = p0 + 0x600;
  uint8_t* f1_imm = p0 + 64 + 1;
  int32_t d = (int32_t)(f1_imm - (w + 6));
  uint8_t wcode[7] = {0x89, 0x3D, 0, 0, 0, 0, 0xC3};
  memcpy(wcode + 2, &d, 4);
  memcpy(w, wcode, sizeof wcode);
  for (uint32_t k = 0; k < 1000; k++) {
    ((fn1)w)(k * 31u + 5u);
    bad += ((fn0)(p0 + 64))() != k * 31u + 5u;
  }

  // 4. mov eax, imm32 ; ret at the end of page 1, its immediate's two high bytes and the ret on
  //    page 2 (checked); only those bytes are rewritten.
  uint8_t* h = p2 - 3;
  put_const(h, 0x0000BEEFu);
  for (uint32_t k = 0; k < 1000; k++) {
    uint16_t hi = (uint16_t)(k * 13u);
    memcpy(p2, &hi, 2);
    for (int c = 0; c < 2; c++) bad += ((fn0)h)() != (((uint32_t)hi << 16) | 0xBEEFu);
  }

  printf("warm-up sum %u; checked-page rewrites: %d wrong results\n", sum, bad);
  return bad != 0;
}
