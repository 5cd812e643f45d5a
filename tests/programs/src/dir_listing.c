/* opendir/readdir on a directory the program creates (files, subdirectory, symlink), sorted,
 * with d_type and stat/lstat results; then nftw-free recursive cleanup. */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common.h"

static int cmp(const void* a, const void* b) { return strcmp(*(char* const*)a, *(char* const*)b); }

static void list(const char* path) {
  DIR* d = opendir(path);
  CHECK(d != NULL);
  char* names[64];
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)) && n < 64) {
    char full[256];
    snprintf(full, sizeof full, "%s/%s", path, e->d_name);
    struct stat st;
    CHECK(lstat(full, &st) == 0);
    char kind = S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : S_ISREG(st.st_mode) ? 'f' : '?';
    /* d_type may be DT_UNKNOWN on some filesystems; when known it must agree with lstat. */
    if (e->d_type != DT_UNKNOWN)
      CHECK((e->d_type == DT_DIR) == (kind == 'd') && (e->d_type == DT_LNK) == (kind == 'l'));
    char line[300];
    snprintf(line, sizeof line, "%c %6lld %s", kind, kind == 'f' ? (long long)st.st_size : 0LL, e->d_name);
    names[n++] = strdup(line);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof names[0], cmp);
  printf("%s: %d entries\n", path, n);
  for (int i = 0; i < n; i++) { printf("  %s\n", names[i]); free(names[i]); }
}

int main(void) {
  CHECK(mkdir("tree", 0755) == 0);
  CHECK(mkdir("tree/sub", 0700) == 0);
  const char* files[] = {"tree/zeta.txt", "tree/alpha", "tree/Mid.c", "tree/sub/inner", "tree/.hidden", "tree/9lives"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    int fd = open(files[i], O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    for (size_t k = 0; k <= i * 3; k++) CHECK(write(fd, "0123456789", 10) == 10);
    close(fd);
  }
  CHECK(symlink("alpha", "tree/link-to-alpha") == 0);
  list("tree");
  list("tree/sub");
  char target[64] = {0};
  printf("readlink: %s\n", readlink("tree/link-to-alpha", target, sizeof target - 1) > 0 ? target : "(failed)");
  struct stat st;
  CHECK(stat("tree/link-to-alpha", &st) == 0);
  printf("stat through link size %lld\n", (long long)st.st_size);
  /* Remove everything again; the working directory must end up as it started. */
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) CHECK(unlink(files[i]) == 0);
  CHECK(unlink("tree/link-to-alpha") == 0);
  CHECK(rmdir("tree/sub") == 0);
  CHECK(rmdir("tree") == 0);
  fprintf(stderr, "dir_listing done\n");
  return finish("dir_listing");
}
