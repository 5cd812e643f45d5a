/* Structs by value through the SysV ABI: small integer structs in registers, mixed int/float
 * structs split across GPRs and XMMs, large structs in memory, returning structs, and arrays of
 * structs passed through non-inlined calls. */
#include <string.h>
#include "common.h"

struct s1 { char c; };
struct s2 { int a, b; };
struct s3 { long a; double d; };
struct s4 { float x, y, z, w; };
struct s5 { double a, b; };
struct big { long v[9]; char name[20]; };
struct mixed { char c; short s; int i; long l; float f; double d; };
struct ld { long double x; int tag; };

__attribute__((noinline)) static struct s2 swap2(struct s2 p) { return (struct s2){p.b, p.a}; }
__attribute__((noinline)) static struct s3 scale3(struct s3 p, int k) { return (struct s3){p.a * k, p.d * k}; }
__attribute__((noinline)) static struct s4 add4(struct s4 a, struct s4 b) { return (struct s4){a.x + b.x, a.y + b.y, a.z + b.z, a.w + b.w}; }
__attribute__((noinline)) static struct s5 rot(struct s5 p) { return (struct s5){-p.b, p.a}; }
__attribute__((noinline)) static struct big fill(struct big b, long k) {
  for (int i = 0; i < 9; i++) b.v[i] += k * i;
  strcat(b.name, "!");
  return b;
}
__attribute__((noinline)) static double sum_mixed(struct mixed m, struct s1 c, int n1, int n2, int n3, int n4, int n5, int n6, struct s3 spilled) {
  return m.c + m.s + m.i + (double)m.l + m.f + m.d + c.c + n1 + n2 + n3 + n4 + n5 + n6 + (double)spilled.a + spilled.d;
}
__attribute__((noinline)) static struct ld ld_twice(struct ld p) { return (struct ld){p.x * 2, p.tag + 1}; }

int main(void) {
  struct s2 a = swap2((struct s2){1, 2});
  printf("swap2 %d %d\n", a.a, a.b);
  struct s3 b = scale3((struct s3){-7, 1.25}, 3);
  printf("scale3 %ld %.17g\n", b.a, b.d);
  struct s4 c = add4((struct s4){1, 2, 3, 4}, (struct s4){0.5f, 0.25f, 0.125f, 0.0625f});
  printf("add4 %g %g %g %g\n", c.x, c.y, c.z, c.w);
  struct s5 d = rot((struct s5){3.5, -1.5});
  printf("rot %g %g\n", d.a, d.b);
  struct big g = {{1, 2, 3, 4, 5, 6, 7, 8, 9}, "big"};
  struct big h = fill(g, 10);
  printf("fill %ld %ld %s (original %ld %s)\n", h.v[0], h.v[8], h.name, g.v[8], g.name);
  struct mixed m = {'A', -300, 70000, 1L << 40, 0.5f, 0.25};
  printf("sum_mixed %.17g\n", sum_mixed(m, (struct s1){'z'}, 1, 2, 3, 4, 5, 6, (struct s3){100, 0.125}));
  struct ld l = ld_twice((struct ld){1.0L / 3, 41});
  printf("ld_twice %.21Lg %d\n", l.x, l.tag);
  CHECK(a.a == 2 && b.a == -21 && c.w == 4.0625f && h.v[8] == 89 && l.tag == 42);
  fprintf(stderr, "struct_pass done\n");
  return finish("struct_pass");
}
