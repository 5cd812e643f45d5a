/* Self-modifying and remapped code, the cases a translator caches wrongly if it misses a write
   (the jit's physical-page code marks, docs/jit.md "System mode"): a block that patches an
   instruction ahead of itself, code rewritten through one virtual alias and run through
   another, a page unmapped and mapped again to different contents, and code patched by the
   interpreter's own stores (rep movsb, as a kernel patches itself at boot). */
#include "lib/guest.h"

/* Two pages of code buffer (identity-mapped RAM, writable and executable). */
static uint8_t code[3][4096] __attribute__((aligned(4096)));

typedef uint32_t (*fn_t)(void);

/* mov eax, imm32; ret */
static void emit_return(uint8_t* p, uint32_t v) {
  p[0] = 0xB8;
  for (int i = 0; i < 4; i++) p[1 + i] = (uint8_t)(v >> (8 * i));
  p[5] = 0xC3;
}

#define ALIAS_X 0x40000000ull  /* two views of code[0] above the 1 GiB identity map */
#define ALIAS_Y 0x40001000ull
#define REMAP_Z 0x40002000ull

static void map(uint64_t va, void* page) {
  *paging_entry(va, 1) = (uint64_t)page | PTE_P | PTE_W;
  invlpg(va);
}

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  idt_init();

  /* 1. A block that modifies itself: the store patches the immediate of the mov two
     instructions ahead, in the same block; the mov must see the new byte. */
  uint32_t seen[4];
  for (uint32_t i = 0; i < 4; i++) {
    uint32_t r;
    __asm__ volatile(
        "movb %b1, 1f+1(%%rip)\n\t"
        "nop\n\t"
        "1: mov $0x11, %%eax\n\t"
        "mov %%eax, %0"
        : "=r"(r) : "q"((uint8_t)(0x40 + i)) : "rax", "memory");
    seen[i] = r;
  }
  kprintf("self-patching block: %x %x %x %x\n", seen[0], seen[1], seen[2], seen[3]);

  /* 2. Code written through one alias and run through another. */
  map(ALIAS_X, code[0]);
  map(ALIAS_Y, code[0]);
  emit_return((uint8_t*)ALIAS_Y, 1);
  uint32_t sum = 0;
  for (uint32_t i = 0; i < 5; i++) {
    sum += ((fn_t)ALIAS_X)();
    emit_return((uint8_t*)ALIAS_Y, i + 2);
  }
  kprintf("alias: run at X after writes at Y: sum %u (expected 15)\n", sum);

  /* 3. A page unmapped, then mapped again to different contents at the same address. */
  emit_return(code[1], 0xA1);
  emit_return(code[2], 0xB2);
  map(REMAP_Z, code[1]);
  uint32_t a = ((fn_t)REMAP_Z)();
  *paging_entry(REMAP_Z, 1) = 0;
  invlpg(REMAP_Z);
  map(REMAP_Z, code[2]);
  uint32_t b = ((fn_t)REMAP_Z)();
  map(REMAP_Z, code[1]);
  uint32_t c = ((fn_t)REMAP_Z)();
  kprintf("remap: %x then %x then %x\n", a, b, c);

  /* 4. Code patched by a string store (rep movsb), as a kernel patches itself at boot. */
  static uint8_t patch[6];
  emit_return(patch, 0x5EED);
  uint32_t before = ((fn_t)code[1])();
  uint8_t* dst = code[1];
  const uint8_t* src = patch;
  uint64_t n = sizeof patch;
  __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
  uint32_t after = ((fn_t)code[1])();
  kprintf("rep movsb patch: %x then %x\n", before, after);
  return 0;
}
