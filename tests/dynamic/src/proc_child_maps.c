// /proc/PID/maps of another process: a parent reads its child's map and compares it with
// what the child read from /proc/self/maps, for a forked child (which changed its map after
// the fork) and for a child that exec'd a program (this one again). Under Vireo each is its
// own Vireo process, so the parent must see the child's guest map, not its host one. The
// parent of this program (the shell that started it, not under Vireo) is read as well: its
// map is the host's, as it should be.
// Usage: proc_child_maps                 (the parent)
//        proc_child_maps child OUT IN    (the exec'd child: pipe fds to write to, read from)
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static char self_map[1 << 16], other_map[1 << 16];

// The whole file with plain read(2): no stdio buffer, no allocation that could change the map.
static size_t slurp(const char* path, char* buf, size_t cap) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return 0;
  size_t n = 0;
  ssize_t r;
  while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0) n += (size_t)r;
  close(fd);
  buf[n] = 0;
  return n;
}

static void write_all(int fd, const char* p, size_t n) {
  while (n) {
    ssize_t r = write(fd, p, n);
    if (r <= 0) _exit(3);
    p += r;
    n -= (size_t)r;
  }
}

// The child's side: change the map, read it, send it, wait until the parent has looked.
static int child(int out, int in) {
  char* m = mmap(NULL, 5 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  mprotect(m + 4096, 4096, PROT_READ);
  munmap(m + 3 * 4096, 4096);
  m[0] = 1;
  size_t n = slurp("/proc/self/maps", self_map, sizeof self_map);
  write_all(out, (const char*)&n, sizeof n);
  write_all(out, self_map, n);
  char c;
  return read(in, &c, 1) == 1 ? 0 : 1;  // blocked here while the parent reads our map
}

static int lines(const char* s) {
  int n = 0;
  for (; *s; ++s) n += *s == '\n';
  return n;
}

static void check(const char* what, int exec_child, char* self_path) {
  int to_parent[2], to_child[2];
  if (pipe(to_parent) || pipe(to_child)) exit(2);
  pid_t pid = fork();
  if (pid == 0) {
    close(to_parent[0]);
    close(to_child[1]);
    if (exec_child) {
      char a[16], b[16];
      snprintf(a, sizeof a, "%d", to_parent[1]);
      snprintf(b, sizeof b, "%d", to_child[0]);
      execl(self_path, self_path, "child", a, b, (char*)NULL);
      _exit(4);
    }
    _exit(child(to_parent[1], to_child[0]));
  }
  close(to_parent[1]);
  close(to_child[0]);
  size_t n = 0, got = 0;
  if (read(to_parent[0], &n, sizeof n) != sizeof n || n >= sizeof self_map) exit(5);
  while (got < n) {
    ssize_t r = read(to_parent[0], self_map + got, n - got);
    if (r <= 0) exit(6);
    got += (size_t)r;
  }
  self_map[n] = 0;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/maps", pid);
  slurp(path, other_map, sizeof other_map);
  int same = strcmp(self_map, other_map) == 0;
  printf("%s: parent's view of the child's map equals the child's own: %s\n", what, same ? "yes" : "no");
  printf("%s: [heap] %s, [stack] %s, lines > 5: %s\n", what, strstr(other_map, "[heap]") ? "yes" : "no",
         strstr(other_map, "[stack]") ? "yes" : "no", lines(other_map) > 5 ? "yes" : "no");
  if (!same) printf("--- child's own:\n%s--- parent's view:\n%s", self_map, other_map);
  snprintf(path, sizeof path, "/proc/%d/task/%d/maps", pid, pid);
  slurp(path, other_map, sizeof other_map);
  printf("%s: through task/: %s\n", what, strcmp(self_map, other_map) == 0 ? "same" : "different");
  write_all(to_child[1], "x", 1);
  int status;
  waitpid(pid, &status, 0);
  printf("%s: child exit %d\n", what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  close(to_parent[0]);
  close(to_child[1]);
}

int main(int argc, char** argv) {
  if (argc == 4 && strcmp(argv[1], "child") == 0) return child(atoi(argv[2]), atoi(argv[3]));
  check("forked child", 0, argv[0]);
  check("exec'd child", 1, argv[0]);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/maps", getppid());
  size_t n = slurp(path, other_map, sizeof other_map);
  printf("the parent's (not ours) map readable: %s\n", n > 0 && strstr(other_map, "[stack]") ? "yes" : "no");
  return 0;
}
