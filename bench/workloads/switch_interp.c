// An interpreter-style dispatch loop: a small stack-machine bytecode run by a switch, the
// shape of real interpreters (an indirect jump per bytecode).
//
// The bytecode computes: acc = 0; for (i = n; i != 0; i--) acc = (acc * 3 + i) ^ (i << 2);
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { PUSH, LOAD, STORE, ADD, MUL, XOR, SHL, DEC, JNZ, HALT };

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 10000000;
  // Variables: v[0] = acc, v[1] = i.
  const int64_t code[] = {
      PUSH, 0, STORE, 0,  // acc = 0
      PUSH, n, STORE, 1,  // i = n
      /* 8: loop */
      LOAD, 0, PUSH, 3, MUL, LOAD, 1, ADD,  // acc*3 + i
      LOAD, 1, PUSH, 2, SHL,                // i << 2
      XOR, STORE, 0,                        // acc = ...
      LOAD, 1, DEC, STORE, 1,               // i--
      LOAD, 1, JNZ, 8,                      // while (i)
      LOAD, 0, HALT,
  };
  int64_t stack[64], vars[2] = {0, 0};
  int sp = 0;
  for (long ip = 0;;) {
    switch (code[ip++]) {
      case PUSH: stack[sp++] = code[ip++]; break;
      case LOAD: stack[sp++] = vars[code[ip++]]; break;
      case STORE: vars[code[ip++]] = stack[--sp]; break;
      case ADD: sp--; stack[sp - 1] += stack[sp]; break;
      case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
      case XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
      case SHL: sp--; stack[sp - 1] = (int64_t)((uint64_t)stack[sp - 1] << stack[sp]); break;
      case DEC: stack[sp - 1]--; break;
      case JNZ: {
        int64_t target = code[ip++];
        if (stack[--sp] != 0) ip = target;
        break;
      }
      case HALT: printf("%lld\n", (long long)stack[sp - 1]); return 0;
      default: return 1;
    }
  }
}
