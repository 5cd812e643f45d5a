// /proc/PID of another process, as `ps`, debuggers and profilers read it: a parent reads its
// child's maps, cmdline, environ, auxv, exe, stat and status, and compares each with what the
// child itself read from /proc/self, for a forked child and for a child that exec'd this
// program with other arguments and environment. It checks too that each describes the child's
// image (its argv, its environment, its program, its stack), and that /proc/self/task/TID of a
// thread shows the same process. Under Vireo each guest process is a Vireo of its own, so
// the parent must see the child's guest, not its host process. Only verdicts are printed: the
// output is the same natively and under Vireo.
// Usage: proc_peer                     (the parent)
//        proc_peer child OUT IN ...    (the exec'd child: pipe fds to write to, read from)
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kMaps, kCmdline, kEnviron, kAuxv, kExe, kStat, kStatus, kFiles };
static const char* const names[kFiles] = {"maps", "cmdline", "environ", "auxv", "exe", "stat", "status"};
static char own[kFiles][1 << 16], peer[kFiles][1 << 16];
static size_t own_len[kFiles], peer_len[kFiles];

// The whole file with plain read(2) (exe: the link), into buf; its length.
static size_t slurp(const char* dir, int file, char* buf, size_t cap) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, names[file]);
  if (file == kExe) {
    ssize_t n = readlink(path, buf, cap - 1);
    buf[n > 0 ? n : 0] = 0;
    return n > 0 ? (size_t)n : 0;
  }
  int fd = open(path, O_RDONLY);
  if (fd < 0) return 0;
  size_t n = 0;
  ssize_t r;
  while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0) n += (size_t)r;
  close(fd);
  buf[n] = 0;
  return n;
}

static void write_all(int fd, const void* p, size_t n) {
  while (n) {
    ssize_t r = write(fd, p, n);
    if (r <= 0) _exit(3);
    p = (const char*)p + r;
    n -= (size_t)r;
  }
}

static int read_all(int fd, void* p, size_t n) {
  while (n) {
    ssize_t r = read(fd, p, n);
    if (r <= 0) return 0;
    p = (char*)p + r;
    n -= (size_t)r;
  }
  return 1;
}

// Field `n` (1-based, proc(5)) of a stat line.
static unsigned long long stat_field(const char* stat, int n) {
  const char* p = strrchr(stat, ')');
  if (!p) return 0;
  p += 2;
  for (int f = 3; f < n && p; ++f) {
    p = strchr(p, ' ');
    if (p) ++p;
  }
  return p ? strtoull(p, NULL, 10) : 0;
}

static long status_kb(const char* status, const char* key) {
  const char* p = strstr(status, key);
  return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

// The child's side: read its own files, send them, wait until the parent has looked.
static int child(int out, int in) {
  for (int f = 0; f < kFiles; ++f) {
    own_len[f] = slurp("/proc/self", f, own[f], sizeof own[f]);
    write_all(out, &own_len[f], sizeof own_len[f]);
    write_all(out, own[f], own_len[f]);
  }
  char c;
  return read(in, &c, 1) == 1 ? 0 : 1;  // blocked here while the parent reads our files
}

static int same(int f) { return own_len[f] == peer_len[f] && memcmp(own[f], peer[f], own_len[f]) == 0; }

static void check(const char* what, int exec_child, const char* self_path) {
  int to_parent[2], to_child[2];
  if (pipe(to_parent) || pipe(to_child)) exit(2);
  char a[16], b[16];
  snprintf(a, sizeof a, "%d", to_parent[1]);
  snprintf(b, sizeof b, "%d", to_child[0]);
  char* const argv[] = {(char*)self_path, "child", a, b, "second argument", "", "last", NULL};
  char* const envp[] = {"PROC_PEER_MARK=exec'd child", "EMPTY=", NULL};
  pid_t pid = fork();
  if (pid == 0) {
    close(to_parent[0]);
    close(to_child[1]);
    if (exec_child) {
      char c;  // (the parent looks at this image first: its record must not outlive the exec)
      if (read(to_child[0], &c, 1) != 1) _exit(6);
      execve(self_path, argv, envp);
      _exit(4);
    }
    _exit(child(to_parent[1], to_child[0]));
  }
  close(to_parent[1]);
  close(to_child[0]);
  char dir[64];
  snprintf(dir, sizeof dir, "/proc/%d", pid);
  if (exec_child) {
    // Before the exec: the forked image, blocked in read (and described as such), which is
    // ours. After it the same pid must show the new image only (below).
    for (int f = kMaps; f <= kExe; ++f) {
      own_len[f] = slurp("/proc/self", f, own[f], sizeof own[f]);
      peer_len[f] = slurp(dir, f, peer[f], sizeof peer[f]);
    }
    printf("%s: before the exec, cmdline, environ, auxv, exe are ours: %s\n", what,
           same(kCmdline) && same(kEnviron) && same(kAuxv) && same(kExe) ? "yes" : "no");
    write_all(to_child[1], "g", 1);
  }
  for (int f = 0; f < kFiles; ++f) {
    if (!read_all(to_parent[0], &own_len[f], sizeof own_len[f]) || own_len[f] >= sizeof own[f] ||
        !read_all(to_parent[0], own[f], own_len[f]))
      exit(5);
    own[f][own_len[f]] = 0;
  }
  for (int f = 0; f < kFiles; ++f) peer_len[f] = slurp(dir, f, peer[f], sizeof peer[f]);

  // The same as the child's own view (stat and status: the fields that describe the image;
  // the rest are times and counters that move).
  for (int f = 0; f < kFiles; ++f)
    if (f != kStat && f != kStatus)
      printf("%s: %s as the child sees it: %s\n", what, names[f], same(f) ? "yes" : "no");
  static const int image_fields[] = {26, 27, 28, 45, 46, 47, 48, 49, 50, 51};
  int stat_same = 1;
  for (unsigned i = 0; i < sizeof image_fields / sizeof *image_fields; ++i)
    stat_same &= stat_field(own[kStat], image_fields[i]) == stat_field(peer[kStat], image_fields[i]);
  printf("%s: stat's image fields as the child sees them: %s\n", what, stat_same ? "yes" : "no");
  int status_same = 1;
  for (const char* const* k = (const char* const[]){"VmStk:", "VmExe:", "Name:", NULL}; *k; ++k)
    status_same &= status_kb(own[kStatus], *k) == status_kb(peer[kStatus], *k);
  printf("%s: status's VmStk, VmExe as the child sees them: %s\n", what, status_same ? "yes" : "no");

  // What they say about the child's image.
  char expect[512];
  size_t n = 0;
  for (char* const* p = exec_child ? argv : (char* const[]){(char*)self_path, NULL}; *p; ++p) {
    size_t l = strlen(*p) + 1;
    memcpy(expect + n, *p, l);
    n += l;
  }
  printf("%s: cmdline is its argv: %s\n", what, peer_len[kCmdline] == n && !memcmp(peer[kCmdline], expect, n) ? "yes" : "no");
  int marked = 0;
  for (size_t off = 0; off < peer_len[kEnviron]; off += strlen(peer[kEnviron] + off) + 1)
    marked |= strcmp(peer[kEnviron] + off, "PROC_PEER_MARK=exec'd child") == 0;
  printf("%s: environ has the exec'd environment: %s\n", what, marked == exec_child ? "as expected" : "no");
  char real[PATH_MAX];
  printf("%s: exe is the program: %s\n", what,
         realpath(self_path, real) && strcmp(peer[kExe], real) == 0 ? "yes" : "no");
  // auxv: AT_ENTRY is this program's entry point (the same binary, so the same in the child
  // unless it is position-independent and loaded elsewhere: then at least inside its code).
  unsigned long entry = 0, pagesz = 0;
  for (size_t off = 0; off + 16 <= peer_len[kAuxv]; off += 16) {
    uint64_t k, v;
    memcpy(&k, peer[kAuxv] + off, 8);
    memcpy(&v, peer[kAuxv] + off + 8, 8);
    if (k == AT_ENTRY) entry = v;
    if (k == AT_PAGESZ) pagesz = v;
  }
  int entry_in_code = 0, stack_in_stack = 0, code_named = 0;
  unsigned long long start_stack = stat_field(peer[kStat], 28);
  const char* base = strrchr(real, '/') ? strrchr(real, '/') + 1 : real;
  for (char* line = peer[kMaps]; *line;) {
    unsigned long lo, hi;
    char perms[8];
    int name_at = 0;
    if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &name_at) >= 3) {
      const char* name = line + name_at;
      size_t name_len = strcspn(name, "\n");
      int is_exe = name_len >= strlen(base) && !strncmp(name + name_len - strlen(base), base, strlen(base));
      if (is_exe && perms[2] == 'x') {
        code_named = 1;
        entry_in_code |= entry >= lo && entry < hi;
      }
      if (!strncmp(name, "[stack]", 7)) stack_in_stack = start_stack >= lo && start_stack < hi;
    }
    char* nl = strchr(line, '\n');
    if (!nl) break;
    line = nl + 1;
  }
  printf("%s: maps has its code: %s, auxv's entry in it: %s, page size %lu\n", what, code_named ? "yes" : "no",
         entry_in_code ? "yes" : "no", pagesz);
  printf("%s: stat's start_stack in its [stack]: %s, VmStk > 0: %s\n", what, stack_in_stack ? "yes" : "no",
         status_kb(peer[kStatus], "VmStk:") > 0 ? "yes" : "no");
  for (int f = 0; f < kFiles; ++f)
    if (f != kStat && f != kStatus && !same(f)) printf("--- %s, child's own:\n%s\n--- parent's view:\n%s\n", names[f], own[f], peer[f]);

  write_all(to_child[1], "x", 1);
  int status;
  waitpid(pid, &status, 0);
  printf("%s: child exit %d\n", what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  close(to_parent[0]);
  close(to_child[1]);
}

// A thread's own directory, /proc/self/task/TID: the same process.
static pid_t thread_tid;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done;
static void* thread_main(void* arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  thread_tid = (pid_t)syscall(SYS_gettid);
  pthread_cond_broadcast(&cv);
  while (!done) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  return NULL;
}

static void check_thread(void) {
  pthread_t t;
  pthread_create(&t, NULL, thread_main, NULL);
  pthread_mutex_lock(&mu);
  while (!thread_tid) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  char dir[64];
  snprintf(dir, sizeof dir, "/proc/self/task/%d", thread_tid);
  for (int f = 0; f < kFiles; ++f) {
    own_len[f] = slurp("/proc/self", f, own[f], sizeof own[f]);
    peer_len[f] = slurp(dir, f, peer[f], sizeof peer[f]);
  }
  for (int f = kMaps; f <= kExe; ++f)
    printf("thread: task/TID/%s is the process's: %s\n", names[f], same(f) ? "yes" : "no");
  printf("thread: task/TID/stat's start_stack is the process's: %s\n",
         stat_field(own[kStat], 28) == stat_field(peer[kStat], 28) ? "yes" : "no");
  printf("thread: task/TID/status's VmStk is the process's: %s\n",
         status_kb(own[kStatus], "VmStk:") == status_kb(peer[kStatus], "VmStk:") ? "yes" : "no");
  snprintf(dir, sizeof dir, "/proc/self/task/%d/cmdline", getpid() + 1000000);
  printf("thread: a task that is not ours: %s\n", open(dir, O_RDONLY) < 0 ? "absent" : "present");
  pthread_mutex_lock(&mu);
  done = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  pthread_join(t, NULL);
}

int main(int argc, char** argv) {
  if (argc >= 4 && strcmp(argv[1], "child") == 0) return child(atoi(argv[2]), atoi(argv[3]));
  check("forked child", 0, argv[0]);
  check("exec'd child", 1, argv[0]);
  check_thread();
  return 0;
}
