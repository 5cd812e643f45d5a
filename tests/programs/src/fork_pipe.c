/* fork + pipes + waitpid: the parent sends numbers to a child through one pipe, the child
 * answers through another, several children exit with distinct statuses that the parent
 * collects in a fixed order. */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static void write_all(int fd, const void* p, size_t n) {
  const char* c = p;
  while (n) {
    ssize_t w = write(fd, c, n);
    if (w <= 0) _exit(90);
    c += w;
    n -= (size_t)w;
  }
}
static size_t read_all(int fd, void* p, size_t n) {
  char* c = p;
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, c + got, n - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  return got;
}

int main(void) {
  int to_child[2], to_parent[2];
  CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0);
  fflush(stdout);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    close(to_child[1]);
    close(to_parent[0]);
    long sum = 0, v;
    int count = 0;
    while (read_all(to_child[0], &v, sizeof v) == sizeof v) { sum += v * v; count++; }
    char msg[64];
    int len = snprintf(msg, sizeof msg, "child got %d numbers, sum of squares %ld", count, sum);
    write_all(to_parent[1], &len, sizeof len);
    write_all(to_parent[1], msg, (size_t)len);
    fprintf(stderr, "child: done\n");
    _exit(count == 1000 ? 7 : 8);
  }
  close(to_child[0]);
  close(to_parent[1]);
  for (long i = 1; i <= 1000; i++) write_all(to_child[1], &i, sizeof i);
  close(to_child[1]);
  int len = 0;
  char msg[64] = {0};
  CHECK(read_all(to_parent[0], &len, sizeof len) == sizeof len);
  CHECK(len > 0 && len < 64 && read_all(to_parent[0], msg, (size_t)len) == (size_t)len);
  printf("parent received: %s\n", msg);
  char extra;
  printf("pipe at EOF: %zd\n", read(to_parent[0], &extra, 1));
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  printf("child exited %d status %d\n", WIFEXITED(status), WEXITSTATUS(status));
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
  /* Several children, reaped in creation order. */
  pid_t kids[5];
  for (int i = 0; i < 5; i++) {
    fflush(stdout);
    kids[i] = fork();
    if (kids[i] == 0) {
      printf("child %d says hello\n", i);
      fflush(stdout);
      _exit(10 + i);
    }
    CHECK(waitpid(kids[i], &status, 0) == kids[i]);
    printf("child %d -> %d\n", i, WEXITSTATUS(status));
  }
  /* wait() with no children left. */
  printf("wait with no children: %d\n", wait(&status));
  /* Pipe capacity: a child writing 200000 bytes while the parent reads them all. */
  int p[2];
  CHECK(pipe(p) == 0);
  pid = fork();
  if (pid == 0) {
    close(p[0]);
    static char big[200000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i % 251);
    write_all(p[1], big, sizeof big);
    _exit(0);
  }
  close(p[1]);
  static char got[200000];
  size_t n = read_all(p[0], got, sizeof got);
  int ok = n == sizeof got;
  for (size_t i = 0; ok && i < n; i++) ok = got[i] == (char)(i % 251);
  printf("bulk pipe transfer %zu bytes ok %d\n", n, ok);
  CHECK(ok);
  waitpid(pid, &status, 0);
  return finish("fork_pipe");
}
