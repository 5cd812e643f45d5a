/* strtok/strtok_r, snprintf (truncation, widths, flags, %n, positional args) and sscanf. */
#include <string.h>
#include "common.h"

int main(void) {
  char line[] = "  alpha,beta;;gamma , delta;epsilon  ";
  int n = 0;
  for (char* tok = strtok(line, ",; "); tok; tok = strtok(NULL, ",; ")) printf("tok[%d]=\"%s\"\n", n++, tok);
  CHECK(n == 5);
  char kv[] = "a=1&bb=22&ccc=333";
  char *save1, *save2;
  for (char* pair = strtok_r(kv, "&", &save1); pair; pair = strtok_r(NULL, "&", &save1)) {
    char* k = strtok_r(pair, "=", &save2);
    char* v = strtok_r(NULL, "=", &save2);
    printf("%s -> %s\n", k, v);
  }
  char buf[16];
  int r = snprintf(buf, sizeof buf, "%s-%d-%x", "truncate-me", 123456, 0xdeadbeef);
  printf("snprintf returned %d buf=\"%s\"\n", r, buf);
  CHECK(r == 27 && strlen(buf) == 15);
  char big[256];
  int pos;
  snprintf(big, sizeof big, "[%5d|%-5d|%05d|%+d|% d|%x|%#X|%#o|%c|%.3s|%10.4s|%%|%ld|%llu|%hhd|%hd]%n", 42, 42, 42, 42, 42,
           255, 255, 8, 'z', "abcdef", "abcdef", -5L, 18446744073709551615ull, 300, 70000, &pos);
  printf("%s pos=%d\n", big, pos);
  printf("%2$s %1$s %3$*4$d|\n", "world", "hello", 7, 6);
  printf("%*.*f|%-*s|\n", 10, 3, 3.14159, 8, "pad");
  int a, b;
  unsigned x;
  double d;
  char word[32], rest[32];
  int got = sscanf("  17 -4 0x1F 2.5e3 word rest-of", "%d %i %x %lf %31s %31s", &a, &b, &x, &d, word, rest);
  printf("sscanf got %d: %d %d %u %g %s %s\n", got, a, b, x, d, word, rest);
  CHECK(got == 6 && a == 17 && b == -4 && x == 31 && d == 2500.0);
  char c1[8];
  int consumed = 0;
  got = sscanf("key:value;", "%7[^:]:%n", c1, &consumed);
  printf("scanset got %d \"%s\" consumed %d\n", got, c1, consumed);
  got = sscanf("12abc", "%d%d", &a, &b);
  printf("partial got %d\n", got);
  got = sscanf("", "%d", &a);
  printf("empty got %d\n", got);
  fprintf(stderr, "strtok_scanf: %d tokens\n", n);
  return finish("strtok_scanf");
}
