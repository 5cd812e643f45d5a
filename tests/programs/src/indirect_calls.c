/* Indirect calls whose target the jit guesses when it translates the call's block (the
 * function pointer in a register or a stack slot: docs/jit.md, "Indirect calls guessed at
 * translation time"): a site that stays on one target, then switches to another, then
 * alternates; a guessed callee that longjmps out; a callee rewritten in place after its
 * caller's block was translated with it; a callee that changes its own return address
 * (the followed callee's `ret` compare); a function pointer changed by the callee itself. */
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "common.h"

typedef long (*op_t)(long);

static long add1(long x) { return x + 1; }
static long mul3(long x) { return x * 3; }
static long sub7(long x) { return x - 7; }

/* The loop's call is `call *%reg` (fn lives in a callee-saved register). */
__attribute__((noinline)) static long apply(op_t fn, long n) {
  long s = 0;
  for (long i = 0; i < n; i++) s += fn(i) ^ i;
  return s;
}

/* Through a stack slot (volatile: a load before each call). */
__attribute__((noinline)) static long apply_slot(op_t fn, long n) {
  volatile op_t slot = fn;
  long s = 0;
  for (long i = 0; i < n; i++) s += slot(i) + 1;
  return s;
}

static op_t table[3] = {add1, mul3, sub7};

/* A callee that rewrites the pointer its caller calls through on the next trip. */
static op_t current;
static long flip(long x);
static long flop(long x) { current = flip; return x * 5; }
static long flip(long x) { current = flop; return x + 11; }
__attribute__((noinline)) static long apply_current(long n) {
  long s = 0;
  for (long i = 0; i < n; i++) s += current(i);
  return s;
}

static jmp_buf escape;
static long thrower(long x) {
  if (x == 4321) longjmp(escape, 1);
  return x;
}

int main(void) {
  const long n = 200000;
  long r1 = apply(add1, n);
  long r2 = apply(mul3, n);  /* the same site, another target */
  long r3 = apply(add1, n);
  long r4 = 0;
  for (int k = 0; k < 300; k++) r4 += apply(table[k % 3], 1000);  /* alternating */
  printf("apply: %ld %ld %ld %ld\n", r1, r2, r3, r4);
  CHECK(r1 == r3);
  long e1 = 0, e2 = 0, e4 = 0;
  for (long i = 0; i < n; i++) { e1 += (i + 1) ^ i; e2 += (i * 3) ^ i; }
  for (int k = 0; k < 300; k++)
    for (long i = 0; i < 1000; i++) e4 += table[k % 3](i) ^ i;
  CHECK(r1 == e1 && r2 == e2 && r4 == e4);

  long s1 = apply_slot(sub7, n), s2 = apply_slot(add1, n);
  printf("apply_slot: %ld %ld\n", s1, s2);
  CHECK(s1 == n * (n - 1) / 2 - 6 * n && s2 == n * (n - 1) / 2 + 2 * n);

  current = flip;
  long c = apply_current(n);
  printf("apply_current: %ld\n", c);
  long ec = 0;
  for (long i = 0; i < n; i++) ec += (i % 2 == 0) ? i + 11 : i * 5;
  CHECK(c == ec);

  /* longjmp out of a guessed callee, many times over. */
  int escaped = 0;
  for (int k = 0; k < 50; k++) {
    if (setjmp(escape) == 0) apply(thrower, 10000);
    else escaped++;
  }
  printf("escaped: %d\n", escaped);
  CHECK(escaped == 50);

  /* Generated code, W^X: `lea rax, [rdi + imm8]; ret` written, made executable, called hot,
   * then made writable, rewritten, executable again (a guessed target's code replaced). */
  uint8_t* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(page != MAP_FAILED);
  const uint8_t code[] = {0x48, 0x8D, 0x47, 0x05, 0xC3};  /* lea rax, [rdi+5]; ret */
  memcpy(page, code, sizeof code);
  CHECK(mprotect(page, 4096, PROT_READ | PROT_EXEC) == 0);
  long g1 = apply((op_t)page, n);
  CHECK(mprotect(page, 4096, PROT_READ | PROT_WRITE) == 0);
  page[3] = 0x09;  /* lea rax, [rdi+9] */
  memcpy(page + 64, code, sizeof code);
  page[64 + 3] = 0x02;
  CHECK(mprotect(page, 4096, PROT_READ | PROT_EXEC) == 0);
  long g2 = apply((op_t)page, n);
  long g3 = apply((op_t)(page + 64), n);  /* another target on the same page */
  printf("generated: %ld %ld %ld\n", g1, g2, g3);
  long eg1 = 0, eg2 = 0, eg3 = 0;
  for (long i = 0; i < n; i++) { eg1 += (i + 5) ^ i; eg2 += (i + 9) ^ i; eg3 += (i + 2) ^ i; }
  CHECK(g1 == eg1 && g2 == eg2 && g3 == eg3);
  return finish("indirect_calls");
}
