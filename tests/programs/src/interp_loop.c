/* A switch-dispatched bytecode interpreter (dense switch → jump table, indirect jumps) running
 * a small program: a loop computing primes and a checksum. */
#include <string.h>
#include "common.h"

enum op { PUSH, POP, DUP, SWAP, OVER, ADD, SUB, MUL, DIV, MOD, LT, EQ, JMP, JZ, JNZ, LOAD, STORE, PRINT, HALT, INC, DEC, NOT, XOR, SHL };

static long run(const long* code, long* mem, int trace) {
  long stack[256];
  int sp = 0;
  long pc = 0, steps = 0, out = 0;
  for (;;) {
    steps++;
    long op = code[pc++];
    switch (op) {
      case PUSH: stack[sp++] = code[pc++]; break;
      case POP: sp--; break;
      case DUP: stack[sp] = stack[sp - 1]; sp++; break;
      case SWAP: { long t = stack[sp - 1]; stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = t; break; }
      case OVER: stack[sp] = stack[sp - 2]; sp++; break;
      case ADD: sp--; stack[sp - 1] += stack[sp]; break;
      case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
      case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
      case DIV: sp--; stack[sp - 1] /= stack[sp]; break;
      case MOD: sp--; stack[sp - 1] %= stack[sp]; break;
      case LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
      case EQ: sp--; stack[sp - 1] = stack[sp - 1] == stack[sp]; break;
      case JMP: pc = code[pc]; break;
      case JZ: pc = stack[--sp] == 0 ? code[pc] : pc + 1; break;
      case JNZ: pc = stack[--sp] != 0 ? code[pc] : pc + 1; break;
      case LOAD: stack[sp - 1] = mem[stack[sp - 1]]; break;
      case STORE: sp -= 2; mem[stack[sp + 1]] = stack[sp]; break;
      case PRINT: out = out * 31 + stack[--sp]; if (trace) printf("%ld ", stack[sp]); break;
      case HALT: if (trace) printf("\n"); return out ^ (steps << 32);
      case INC: stack[sp - 1]++; break;
      case DEC: stack[sp - 1]--; break;
      case NOT: stack[sp - 1] = !stack[sp - 1]; break;
      case XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
      case SHL: sp--; stack[sp - 1] <<= stack[sp]; break;
      default: printf("bad op %ld\n", op); return -1;
    }
  }
}

int main(void) {
  /* mem[0] = n (candidate), mem[1] = d (divisor), mem[2] = limit */
  const long prog[] = {
      PUSH, 2, PUSH, 0, STORE,                 /* 0: n = 2 */
      PUSH, 0, LOAD, PUSH, 2, LOAD, LT, JZ, 62, /* 5: while n < limit */
      PUSH, 2, PUSH, 1, STORE,                 /* 14: d = 2 */
      PUSH, 1, LOAD, DUP, MUL, PUSH, 0, LOAD, SWAP, LT, JNZ, 49, /* 19: while !(n < d*d) */
      PUSH, 0, LOAD, PUSH, 1, LOAD, MOD, JZ, 53, /* 31: if n % d == 0 → not prime */
      PUSH, 1, LOAD, INC, PUSH, 1, STORE, JMP, 19, /* 40: d++ */
      PUSH, 0, LOAD, PRINT,                    /* 49: prime: print n */
      PUSH, 0, LOAD, INC, PUSH, 0, STORE, JMP, 5, /* 53: n++ */
      HALT};
  long mem[8] = {0, 0, 120};
  long r = run(prog, mem, 1);
  printf("result %lx\n", r);
  mem[2] = 3000;
  r = run(prog, mem, 0);
  printf("primes < 3000: checksum/steps %lx\n", r);
  CHECK((r >> 32) > 100000);
  fprintf(stderr, "interp_loop done\n");
  return finish("interp_loop");
}
