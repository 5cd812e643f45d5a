// The valid static program the ELF corpus is mutated from: no libc (so it runs on any engine
// that knows a handful of instructions), prints "ok" and exits 0.
static long sys3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}

static char counter;  // a writable .bss byte, so the file has a read-write segment too

void _start(void) {
  counter++;
  sys3(1, 1, (long)"ok\n", 3);
  sys3(231, counter - 1, 0, 0);
  for (;;) {
  }
}
