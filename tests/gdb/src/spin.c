// Runs until stopped (the Ctrl-C test interrupts it).
int main(void) {
  volatile unsigned long n = 0;
  for (;;) n++;
}
