// Start-up cost: the smallest complete program.
#include <stdio.h>

int main(void) {
  puts("hello, world");
  return 0;
}
