/* execveat(2) as fs/exec.c's do_execveat_common defines it, and fexecve(3) on top of it, one
 * stage per image:
 *   start    the refusals that leave the image intact: a bad descriptor (EBADF), an empty path
 *            without AT_EMPTY_PATH (ENOENT), an unknown flag (EINVAL), a relative path under a
 *            descriptor that is not a directory (ENOTDIR), AT_SYMLINK_NOFOLLOW on a symlink
 *            (ELOOP), a script named through a close-on-exec descriptor (ENOENT: its
 *            interpreter could not open it); then a relative path under a close-on-exec
 *            directory descriptor;
 *   dirfd    AT_EXECFN is /dev/fd/N/NAME, the directory descriptor is closed; fexecve of the
 *            program through a close-on-exec descriptor;
 *   fexecve  AT_EXECFN is /dev/fd/N, /proc/self/exe names the program; fexecve of a copy of the
 *            program in a memfd (a file without a name);
 *   memfd    /proc/self/exe still opens the program; fexecve of a script through a descriptor
 *            that stays open;
 *   script_run  the interpreter is given /dev/fd/N as the script's name.
 * Every stage prints what it saw; a failed check makes the image exit with status 1. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <libgen.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "api_test.h"

static char self[4096];
static char* env[] = {"EXECVEAT_TEST=1", NULL};

static long raw_execveat(int dirfd, const char* path, char* const argv[], int flags) {
  return syscall(SYS_execveat, dirfd, path, argv, env, flags);
}

static void read_self(void) {
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  CHECK(n > 0);
  self[n > 0 ? n : 0] = 0;
}

static void print_execfn(const char* stage) {
  const char* execfn = (const char*)getauxval(AT_EXECFN);
  printf("%s: AT_EXECFN %s\n", stage, execfn ? execfn : "(none)");
}

static int stage_start(void) {
  char* args[] = {"execveat_forms", "dirfd", NULL};
  char dir_buf[4096], base_buf[4096];
  strcpy(dir_buf, self);
  strcpy(base_buf, self);
  const char* dir = dirname(dir_buf);
  const char* base = basename(base_buf);

  FAILS_WITH(raw_execveat(1000, "x", args, 0), EBADF);
  int dirfd = OK(open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  FAILS_WITH(raw_execveat(dirfd, "", args, 0), ENOENT);
  FAILS_WITH(raw_execveat(dirfd, base, args, 0x4), EINVAL);
  int filefd = OK(open(self, O_RDONLY | O_CLOEXEC));
  FAILS_WITH(raw_execveat(filefd, "x", args, 0), ENOTDIR);
  close(filefd);
  unlink("execveat_link");
  OK(symlink(self, "execveat_link"));
  FAILS_WITH(raw_execveat(AT_FDCWD, "execveat_link", args, AT_SYMLINK_NOFOLLOW), ELOOP);
  unlink("execveat_link");
  int fd = OK(open("execveat_script", O_WRONLY | O_CREAT | O_TRUNC, 0755));
  dprintf(fd, "#!%s script_run\n", self);
  close(fd);
  int sfd = OK(open("execveat_script", O_RDONLY | O_CLOEXEC));
  FAILS_WITH(raw_execveat(sfd, "", args, AT_EMPTY_PATH), ENOENT);
  close(sfd);
  printf("start: refusals as Linux makes them\n");

  fflush(stdout);
  raw_execveat(dirfd, base, args, 0);
  printf("execveat under a directory descriptor failed: %s\n", strerror(errno));
  return 1;
}

static int stage_dirfd(void) {
  print_execfn("dirfd");
  CHECK(fcntl(3, F_GETFD) == -1 && errno == EBADF);
  int fd = OK(open(self, O_RDONLY | O_CLOEXEC));
  char* args[] = {"execveat_forms", "fexecve", self, NULL};
  fflush(stdout);
  fexecve(fd, args, env);
  printf("fexecve failed: %s\n", strerror(errno));
  return 1;
}

static void copy_file(int from, int to) {
  char buf[65536];
  for (ssize_t n; (n = read(from, buf, sizeof buf)) > 0;) CHECK(write_all(to, buf, (size_t)n) == 0);
}

static int stage_fexecve(const char* program) {
  print_execfn("fexecve");
  printf("fexecve: /proc/self/exe names the program: %s\n", strcmp(self, program) ? "no" : "yes");
  int from = OK(open(self, O_RDONLY | O_CLOEXEC));
  int mfd = OK(memfd_create("execveat_copy", MFD_CLOEXEC));
  copy_file(from, mfd);
  close(from);
  char* args[] = {"execveat_forms", "memfd", self, NULL};
  fflush(stdout);
  fexecve(mfd, args, env);
  printf("fexecve of a memfd failed: %s\n", strerror(errno));
  return 1;
}

static int stage_memfd(const char* program) {
  print_execfn("memfd");
  int fd = OK(open("/proc/self/exe", O_RDONLY));
  char magic[4] = {0};
  CHECK(read(fd, magic, 4) == 4 && memcmp(magic, "\x7f" "ELF", 4) == 0);
  close(fd);
  printf("memfd: /proc/self/exe opens the program\n");
  int sfd = OK(open("execveat_script", O_RDONLY));
  char* args[] = {"my-script-name", "arg1", NULL};
  fflush(stdout);
  fexecve(sfd, args, env);
  printf("fexecve of a script failed: %s (%s)\n", strerror(errno), program);
  return 1;
}

static int stage_script_run(int argc, char** argv) {
  printf("script_run: argc %d, argv[2] %s, argv[3] %s\n", argc, argc > 2 ? argv[2] : "-",
         argc > 3 ? argv[3] : "-");
  print_execfn("script_run");
  unlink("execveat_script");
  return finish("execveat_forms");
}

int main(int argc, char** argv) {
  time_bound(20);
  read_self();
  const char* stage = argc > 1 ? argv[1] : "start";
  if (!strcmp(stage, "start")) return stage_start();
  if (!strcmp(stage, "dirfd")) return stage_dirfd();
  if (!strcmp(stage, "fexecve")) return stage_fexecve(argc > 2 ? argv[2] : "");
  if (!strcmp(stage, "memfd")) return stage_memfd(argc > 2 ? argv[2] : "");
  if (!strcmp(stage, "script_run")) return stage_script_run(argc, argv);
  printf("unknown stage %s\n", stage);
  return 1;
}
