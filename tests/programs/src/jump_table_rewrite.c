/* A bytecode loop dispatching through a table of label addresses (computed goto indexed by a
 * byte: `movzx; jmp [table + idx*8]`), the table rewritten between runs. Under the JIT a
 * dispatch through a read-only table becomes a chained exit per entry (jump_table.h): a
 * table in writable memory must never be taken as constant, and a read-only one made
 * writable with mprotect, changed and made read-only again must be read afresh. */
#include <string.h>
#include <sys/mman.h>

#include "common.h"

enum { OP_ADD, OP_SUB, OP_MUL3, OP_XOR, OP_LOOP, OP_END, NOPS };

/* Runs `code` `rounds` times through `table` (256 entries: any byte indexes it). */
static __attribute__((noinline)) uint64_t run(void* const* table, const unsigned char* code, long rounds) {
  uint64_t acc = 1;
  long left = rounds;
  const unsigned char* pc = code;
  static void* labels[NOPS];
  if (!table) {  /* (the first call hands out the labels) */
    labels[OP_ADD] = &&op_add; labels[OP_SUB] = &&op_sub; labels[OP_MUL3] = &&op_mul3;
    labels[OP_XOR] = &&op_xor; labels[OP_LOOP] = &&op_loop; labels[OP_END] = &&op_end;
    return (uint64_t)(uintptr_t)labels;
  }
#define NEXT goto* table[*pc++]
  NEXT;
op_add: acc += 7; NEXT;
op_sub: acc -= 3; NEXT;
op_mul3: acc *= 3; NEXT;
op_xor: acc ^= acc >> 5; NEXT;
op_loop: if (--left > 0) pc = code; NEXT;
op_end: return acc;
#undef NEXT
}

static void fill(void** table, void* const* labels, const int* map) {
  for (int i = 0; i < 256; i++) table[i] = labels[OP_END];
  for (int i = 0; i < NOPS; i++) table[i] = labels[map[i]];
}

int main(void) {
  void* const* labels = (void* const*)(uintptr_t)run(NULL, NULL, 0);
  static const unsigned char code[] = {OP_ADD, OP_MUL3, OP_SUB, OP_XOR, OP_ADD, OP_LOOP, OP_END};
  const int straight[NOPS] = {OP_ADD, OP_SUB, OP_MUL3, OP_XOR, OP_LOOP, OP_END};
  const int swapped[NOPS] = {OP_SUB, OP_ADD, OP_XOR, OP_MUL3, OP_LOOP, OP_END};

  /* A read-only table: hot, then made writable, changed, made read-only again. */
  void** ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(ro != MAP_FAILED);
  fill(ro, labels, straight);
  CHECK(mprotect(ro, 4096, PROT_READ) == 0);
  uint64_t a = 0;
  for (int i = 0; i < 200; i++) a += run(ro, code, 500);
  printf("read-only table: %llx\n", (unsigned long long)a);
  for (int round = 0; round < 4; round++) {
    CHECK(mprotect(ro, 4096, PROT_READ | PROT_WRITE) == 0);
    fill(ro, labels, round & 1 ? straight : swapped);
    if (round == 3) CHECK(mprotect(ro, 4096, PROT_READ) == 0);  /* (the last round stays writable) */
    uint64_t b = 0;
    for (int i = 0; i < 200; i++) b += run(ro, code, 500);
    printf("after rewrite %d: %llx\n", round, (unsigned long long)b);
  }

  /* A table in writable memory (.bss), rewritten while the loop is hot. */
  static void* rw[256];
  uint64_t c = 0;
  for (int i = 0; i < 400; i++) {
    if (i % 50 == 0) fill(rw, labels, (i / 50) & 1 ? swapped : straight);
    if (i % 50 == 25) rw[OP_XOR] = labels[(i / 50) & 1 ? OP_ADD : OP_MUL3];  /* one entry only */
    c = c * 31 + run(rw, code, 300);
  }
  printf("writable table: %llx\n", (unsigned long long)c);

  /* The same code, the run's table changing with each call (the block's guard on it). */
  void** other = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(other != MAP_FAILED);
  fill(other, labels, swapped);
  CHECK(mprotect(other, 4096, PROT_READ) == 0);
  uint64_t d = 0;
  for (int i = 0; i < 300; i++) d = d * 31 + run(i % 3 ? ro : other, code, 200);
  printf("two read-only tables: %llx\n", (unsigned long long)d);
  CHECK(munmap(ro, 4096) == 0 && munmap(other, 4096) == 0);
  return finish("jump_table_rewrite");
}
