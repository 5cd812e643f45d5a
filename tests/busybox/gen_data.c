/* Writes the busybox tests' input files into the current directory, from a fixed seed, with
 * fixed modification times (so `ls -l`, `tar` headers and `diff -u` headers are reproducible).
 * It runs natively (it is a host tool, not a guest) before each side of a comparison. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

static uint64_t state = 0x2545F4914F6CDD1Dull;
static uint32_t next(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return (uint32_t)(state >> 16);
}

static FILE* open_or_die(const char* path) {
  FILE* f = fopen(path, "w");
  if (!f) { perror(path); exit(1); }
  return f;
}

static void fixed_mtime(const char* path, long when) {
  struct timeval tv[2] = {{when, 0}, {when, 0}};
  if (utimes(path, tv) != 0) { perror(path); exit(1); }
}

static const char* syll[] = {"ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "qu", "be", "dor", "fen", "gal"};

static void word(char* out) {
  out[0] = 0;
  int parts = 1 + (int)(next() % 3);
  for (int p = 0; p < parts; p++) strcat(out, syll[next() % 14]);
}

int main(void) {
  /* words.txt: "word number word" lines (~50 KB), and a variant with a few edits for diff. */
  FILE* w = open_or_die("words.txt");
  FILE* w2 = open_or_die("words2.txt");
  for (int i = 0; i < 2500; i++) {
    char a[16], b[16];
    word(a);
    word(b);
    unsigned n = next() % 1000;
    fprintf(w, "%s %u %s\n", a, n, b);
    if (i % 397 == 5) fprintf(w2, "%s %u %s changed\n", a, n + 1, b);
    else if (i % 601 != 7) fprintf(w2, "%s %u %s\n", a, n, b);
    if (i % 809 == 3) fprintf(w2, "inserted line %d\n", i);
  }
  fclose(w);
  fclose(w2);
  /* numbers.txt: integers, negatives and repeats, for sort -n. */
  FILE* n = open_or_die("numbers.txt");
  for (int i = 0; i < 3000; i++) fprintf(n, "%d\n", (int)(next() % 20000) - 5000);
  fclose(n);
  /* dups.txt: runs of equal lines, for uniq. */
  FILE* d = open_or_die("dups.txt");
  for (int i = 0; i < 600; i++) {
    char a[16];
    word(a);
    for (unsigned k = next() % 4 + 1; k; k--) fprintf(d, "%s\n", a);
  }
  fclose(d);
  /* table.txt: colon-separated records with decimal fields, for cut and awk. */
  FILE* t = open_or_die("table.txt");
  for (int i = 0; i < 1500; i++) {
    char a[16];
    word(a);
    fprintf(t, "%d:%s:%u.%03u:%s:%d\n", i, a, next() % 500, next() % 1000, i % 3 ? "even" : "odd", (int)(next() % 201) - 100);
  }
  fclose(t);
  /* data.bin: 192 KiB mixing compressible text-like runs and random bytes, and a copy with one
   * byte changed (for cmp). */
  enum { SIZE = 192 * 1024 };
  unsigned char* buf = malloc(SIZE);
  for (size_t i = 0; i < SIZE;) {
    if (next() % 3) {
      size_t run = 16 + next() % 200;
      unsigned char c = (unsigned char)('a' + next() % 8);
      for (size_t k = 0; k < run && i < SIZE; k++) buf[i++] = (unsigned char)(c + (k % 5 == 4));
    } else {
      size_t run = 8 + next() % 64;
      for (size_t k = 0; k < run && i < SIZE; k++) buf[i++] = (unsigned char)next();
    }
  }
  FILE* b = open_or_die("data.bin");
  fwrite(buf, 1, SIZE, b);
  fclose(b);
  buf[100000] ^= 0x20;
  b = open_or_die("data2.bin");
  fwrite(buf, 1, SIZE, b);
  fclose(b);
  free(buf);
  /* tree/: a small directory hierarchy for find, ls -l and tar. */
  const char* dirs[] = {"tree", "tree/src", "tree/src/deep", "tree/docs", "tree/empty"};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) mkdir(dirs[i], 0755);
  const char* files[] = {"tree/README", "tree/src/main.c", "tree/src/util.h", "tree/src/deep/data.txt",
                         "tree/docs/guide.txt", "tree/docs/notes.md", "tree/big.dat"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    FILE* f = open_or_die(files[i]);
    size_t lines = i == 6 ? 400 : 3 + i * 5;
    for (size_t k = 0; k < lines; k++) fprintf(f, "%s line %zu value %u\n", files[i], k, next() % 100000);
    fclose(f);
    chmod(files[i], i == 1 ? 0755 : 0644);
    fixed_mtime(files[i], 1000000000L + (long)i * 86400 * 37);
  }
  for (size_t i = sizeof dirs / sizeof dirs[0]; i-- > 0;) fixed_mtime(dirs[i], 1100000000L + (long)i * 3600);
  const char* flat[] = {"words.txt", "words2.txt", "numbers.txt", "dups.txt", "table.txt", "data.bin", "data2.bin"};
  for (size_t i = 0; i < sizeof flat / sizeof flat[0]; i++) fixed_mtime(flat[i], 1234567890L);
  return 0;
}
