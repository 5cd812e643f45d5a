// A program that dies by SIGSEGV writing to a fixed unmapped address (the gdb fault test).
int main(void) {
  volatile int* p = (volatile int*)0x1234;
  *p = 7;
  return 0;
}
