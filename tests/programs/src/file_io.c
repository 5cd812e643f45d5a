/* POSIX file I/O in a private temporary directory under the working directory: mkdtemp, open,
 * write, read, lseek (incl. holes), pread/pwrite, fstat, ftruncate, rename, unlink, rmdir.
 * Only names relative to the temp directory are printed, never the random suffix. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common.h"

int main(void) {
  char dir[] = "fileio.XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  CHECK(chdir(dir) == 0);
  int fd = open("data.bin", O_RDWR | O_CREAT | O_EXCL, 0640);
  CHECK(fd >= 0);
  char block[1000];
  for (int i = 0; i < 1000; i++) block[i] = (char)('A' + i % 26);
  for (int i = 0; i < 20; i++) CHECK(write(fd, block, sizeof block) == (ssize_t)sizeof block);
  struct stat st;
  CHECK(fstat(fd, &st) == 0);
  printf("size after writes %lld, regular %d, mode %o\n", (long long)st.st_size, S_ISREG(st.st_mode), st.st_mode & 0777);
  off_t off = lseek(fd, 12345, SEEK_SET);
  char rb[10] = {0};
  CHECK(read(fd, rb, 9) == 9);
  printf("lseek %lld read \"%s\"\n", (long long)off, rb);
  printf("SEEK_CUR %lld SEEK_END %lld\n", (long long)lseek(fd, -4, SEEK_CUR), (long long)lseek(fd, 0, SEEK_END));
  CHECK(pwrite(fd, "PWRITE", 6, 500) == 6);
  CHECK(pread(fd, rb, 8, 498) == 8);
  rb[8] = 0;
  printf("pread around pwrite \"%s\", offset unchanged %lld\n", rb, (long long)lseek(fd, 0, SEEK_CUR));
  /* A hole past the end reads back as zeros. */
  CHECK(pwrite(fd, "END", 3, 100000) == 3);
  char hole[4] = {1, 1, 1, 1};
  CHECK(pread(fd, hole, 4, 50000) == 4);
  printf("hole bytes %d %d %d %d\n", hole[0], hole[1], hole[2], hole[3]);
  CHECK(fstat(fd, &st) == 0);
  printf("size with hole %lld\n", (long long)st.st_size);
  CHECK(ftruncate(fd, 777) == 0);
  CHECK(fstat(fd, &st) == 0);
  printf("size after ftruncate %lld\n", (long long)st.st_size);
  ssize_t n = pread(fd, block, sizeof block, 700);
  printf("short read at end: %zd\n", n);
  printf("read at EOF: %zd\n", pread(fd, block, 10, 777));
  CHECK(close(fd) == 0);
  errno = 0;
  printf("close again: %d %s\n", close(fd), errno == EBADF ? "EBADF" : "?");
  CHECK(rename("data.bin", "renamed.bin") == 0);
  errno = 0;
  printf("open old name: %d %s\n", open("data.bin", O_RDONLY), errno == ENOENT ? "ENOENT" : "?");
  fd = open("renamed.bin", O_RDONLY);
  CHECK(fd >= 0);
  CHECK(read(fd, rb, 6) == 6);
  rb[6] = 0;
  printf("renamed content starts \"%s\"\n", rb);
  close(fd);
  fd = open("append.txt", O_WRONLY | O_CREAT | O_APPEND, 0600);
  CHECK(write(fd, "one\n", 4) == 4);
  lseek(fd, 0, SEEK_SET);
  CHECK(write(fd, "two\n", 4) == 4);
  close(fd);
  fd = open("append.txt", O_RDONLY);
  char ab[16] = {0};
  printf("append: %zd bytes \"%.8s\"\n", read(fd, ab, sizeof ab - 1), ab);
  close(fd);
  struct stat ls;
  CHECK(stat("append.txt", &ls) == 0 && ls.st_size == 8);
  fflush(stdout); /* so the raw write lands after everything printed so far */
  int dup_fd = dup(1);
  CHECK(write(dup_fd, "via dup\n", 8) == 8);
  close(dup_fd);
  CHECK(unlink("renamed.bin") == 0);
  CHECK(unlink("append.txt") == 0);
  errno = 0;
  printf("unlink missing: %d %s\n", unlink("nope"), errno == ENOENT ? "ENOENT" : "?");
  CHECK(chdir("..") == 0);
  CHECK(rmdir(dir) == 0);
  errno = 0;
  printf("rmdir again: %d %s\n", rmdir(dir), errno == ENOENT ? "ENOENT" : "?");
  fprintf(stderr, "file_io done\n");
  return finish("file_io");
}
