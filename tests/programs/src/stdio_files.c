/* stdio on files: fopen modes, fprintf/fputs/fputc, fgets/fgetc/ungetc/fscanf, fseek/ftell/
 * rewind, fread/fwrite of binary records, setvbuf, and a file left behind for the harness to
 * compare (output.txt in the working directory). */
#include <string.h>
#include "common.h"

struct rec { int id; double v; char tag[8]; };

int main(void) {
  FILE* f = fopen("output.txt", "w");
  CHECK(f != NULL);
  for (int i = 0; i < 50; i++) fprintf(f, "line %02d: %d squared is %d, sqrt-ish %.4f\n", i, i, i * i, i / 7.0);
  fputs("last line without newline", f);
  CHECK(fclose(f) == 0);
  f = fopen("output.txt", "r");
  char line[128];
  int lines = 0;
  long total = 0;
  while (fgets(line, sizeof line, f)) {
    lines++;
    total += (long)strlen(line);
    if (lines % 10 == 1) printf("read: %s", line);
  }
  printf("\n%d lines, %ld chars, ftell %ld, feof %d\n", lines, total, ftell(f), feof(f) != 0);
  rewind(f);
  int a, b, c;
  CHECK(fscanf(f, "line %d: %d squared is %d", &a, &b, &c) == 3);
  int ch = fgetc(f);
  ungetc('#', f);
  printf("fscanf %d %d %d then '%c' then ungot '%c'\n", a, b, c, ch, fgetc(f));
  CHECK(fseek(f, -10, SEEK_END) == 0);
  CHECK(fgets(line, sizeof line, f) != NULL);
  printf("tail: \"%s\"\n", line);
  fclose(f);
  f = fopen("records.bin", "w+b");
  char buf[64];
  setvbuf(f, buf, _IOFBF, sizeof buf);
  struct rec r[5];
  for (int i = 0; i < 5; i++) { r[i].id = i * 11; r[i].v = i / 3.0; snprintf(r[i].tag, sizeof r[i].tag, "t%d", i); }
  CHECK(fwrite(r, sizeof r[0], 5, f) == 5);
  fflush(f);
  fseek(f, 2 * (long)sizeof r[0], SEEK_SET);
  struct rec back;
  CHECK(fread(&back, sizeof back, 1, f) == 1);
  printf("record 2: %d %.6f %s\n", back.id, back.v, back.tag);
  fclose(f);
  remove("records.bin");
  f = fopen("output.txt", "a");
  fprintf(f, "\nappended %s\n", "text");
  fclose(f);
  CHECK(fopen("does/not/exist", "r") == NULL);
  perror("fopen does/not/exist");
  fprintf(stderr, "stdio_files done\n");
  return finish("stdio_files");
}
