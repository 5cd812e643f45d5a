/* execve as Linux defines it (fs/exec.c), one stage per image, each stage exec'ing the next
 * through /proc/self/exe:
 *   start    failures that leave the image intact (ENOENT, EACCES, ENOEXEC, E2BIG, a script
 *            whose interpreter is missing); then descriptors, dispositions, a blocked pending
 *            signal, an alternate stack and a POSIX timer are set up before the exec;
 *   after    close-on-exec fds closed, others kept; caught handlers reset, ignored kept, flags
 *            cleared; mask and pending signal kept; no alternate stack; the timer deleted;
 *            AT_EXECFN, /proc/self/cmdline and /proc/self/environ of the new image;
 *   count N  the program re-executes itself with a counter (same pid every time);
 *   mt       exec while other threads run: they are gone in the new image (mt_after);
 *   thread   exec from a thread that is not the leader: the new image has the leader's pid;
 *   robust   a robust mutex a child holds when it execs is released (EOWNERDEAD), as Linux's
 *            exec runs the old image's robust list;
 *   vfork    vfork + exec releases the parent, posix_spawn of a missing program fails;
 *   script   a "#!" script naming this program as its interpreter, with an argument.
 * Every stage prints what it saw; a failed check makes the image exit with status 1. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "api_test.h"

extern char** environ;

/* (musl has no strerrorname_np) */
static const char* errno_name(int e) {
  switch (e) {
    case 0: return "0";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case ENOEXEC: return "ENOEXEC";
    case E2BIG: return "E2BIG";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case ELOOP: return "ELOOP";
    default: return "other";
  }
}

static char* self_env[] = {"STAGE_ENV=yes", "SECOND=2", NULL};

/* The first exec passes self_env; later ones pass on the environment they got. */
static void exec_stage(const char* stage, const char* arg) {
  fflush(stdout);
  fflush(stderr);
  char* args[] = {"exec_semantics", (char*)stage, (char*)arg, NULL};
  execve("/proc/self/exe", args, strcmp(stage, "after") ? environ : self_env);
  printf("execve to %s failed: %s\n", stage, strerror(errno));
  exit(1);
}

static int stage_done(const char* name) {
  if (check_failures) return finish(name);
  return 0;
}

static void show_file(const char* path) {
  char buf[512];
  int fd = OK(open(path, O_RDONLY | O_CLOEXEC));
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
  if (fd >= 0) close(fd);
  printf("  %s:", path);
  for (ssize_t i = 0; i < n; i++) putchar(buf[i] ? buf[i] : '|');
  putchar('\n');
}

static int task_count(void) {
  int n = 0;
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "Threads:", 8) == 0) n = atoi(line + 8);
  if (f) fclose(f);
  return n;
}

/* Creates (or truncates) `name` holding `n` bytes of `data`, with permissions `mode`. */
static void make_file(const char* name, const char* data, size_t n, mode_t mode) {
  int fd = OK(open(name, O_WRONLY | O_CREAT | O_TRUNC, mode));
  if (n) OK(write(fd, data, n));
  close(fd);
}

static int expect_failure(const char* what, const char* path, char** args, char** env, int e) {
  errno = 0;
  execve(path, args, env);
  printf("  %s: %s\n", what, errno_name(errno));
  CHECK(errno == e);
  return errno;
}

static volatile int image_marker = 0;
static void on_usr1(int sig) { (void)sig; }

static int stage_start(void) {
  time_bound(30);
  image_marker = 1234;
  printf("start: failures keep the image\n");
  /* The lowest free descriptor, before and after the failures: execve opens the program for
     its checks (Vireo keeps it open for the load), and a failure leaves nothing open. */
  int free_fd = OK(dup(0));
  close(free_fd);
  char* args[] = {"x", NULL};
  expect_failure("missing file", "/nonexistent/program", args, self_env, ENOENT);
  make_file("plain_file", "data\n", 5, 0644);
  expect_failure("not executable", "./plain_file", args, self_env, EACCES);
  expect_failure("a directory", "/", args, self_env, EACCES);
  make_file("junk_exe", "\1\2\3 not a program\n", 19, 0755);
  expect_failure("unknown format", "./junk_exe", args, self_env, ENOEXEC);
  make_file("bad_script", "#!/nonexistent/interpreter\n", 27, 0755);
  expect_failure("missing interpreter", "./bad_script", args, self_env, ENOENT);
  /* What execve reads of the file before it loads anything: nothing, a piece of the ELF
     magic, the magic and no header, a script naming itself. */
  make_file("empty_exe", "", 0, 0755);
  expect_failure("empty file", "./empty_exe", args, self_env, ENOEXEC);
  make_file("short_exe", "\177E", 2, 0755);
  expect_failure("two bytes of the ELF magic", "./short_exe", args, self_env, ENOEXEC);
  make_file("magic_only", "\177ELF\2\1\1", 7, 0755);
  expect_failure("ELF magic, no header", "./magic_only", args, self_env, ENOEXEC);
  make_file("loop_script", "#!./loop_script\n", 16, 0755);
  expect_failure("a script that is its own interpreter", "./loop_script", args, self_env, ELOOP);
  /* More argument bytes than a quarter of any stack limit allows (at most 6 MiB). */
  enum { kStrings = 64, kLen = 120 * 1024 };
  char** big = calloc(kStrings + 2, sizeof(char*));
  big[0] = "x";
  for (int i = 1; i <= kStrings; i++) {
    big[i] = malloc(kLen);
    memset(big[i], 'a', kLen - 1);
    big[i][kLen - 1] = 0;
  }
  expect_failure("too many argument bytes", "/proc/self/exe", big, self_env, E2BIG);
  for (int i = 1; i <= kStrings; i++) free(big[i]);
  free(big);
  printf("  image intact: %d\n", image_marker);
  int free_after = OK(dup(0));
  close(free_after);
  printf("  lowest free fd as before: %d\n", free_after == free_fd);
  CHECK(free_after == free_fd);

  /* What the next image inherits, or must not. */
  int null_fd = OK(open("/dev/null", O_RDONLY));
  OK(dup2(null_fd, 10));
  OK(dup3(null_fd, 11, O_CLOEXEC));
  OK(dup2(null_fd, 12));
  OK(fcntl(12, F_SETFD, FD_CLOEXEC));
  close(null_fd);
  int pipefd[2];
  OK(pipe2(pipefd, O_CLOEXEC));
  OK(dup2(pipefd[1], 13));  /* dup2 clears close-on-exec */
  close(pipefd[0]);
  close(pipefd[1]);
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigaddset(&sa.sa_mask, SIGINT);
  OK(sigaction(SIGUSR1, &sa, NULL));
  OK(sigaction(SIGRTMIN + 2, &sa, NULL));
  sa.sa_handler = SIG_IGN;
  OK(sigaction(SIGUSR2, &sa, NULL));
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGHUP);
  OK(sigprocmask(SIG_BLOCK, &block, NULL));
  OK(raise(SIGHUP));
  static char alt[65536];
  stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
  OK(sigaltstack(&ss, NULL));
  struct sigevent ev = {0};
  ev.sigev_notify = SIGEV_NONE;
  int timer_id = -1;
  OK(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &timer_id));
  char id[16];
  snprintf(id, sizeof id, "%d", timer_id);
  if (stage_done("exec_semantics start")) return 1;
  exec_stage("after", id);
  return 1;
}

static const char* disposition(int sig) {
  struct sigaction old;
  if (sigaction(sig, NULL, &old) != 0) return "error";
  static char buf[64];
  snprintf(buf, sizeof buf, "%s flags %#x mask-empty %d",
           old.sa_handler == SIG_DFL ? "SIG_DFL" : old.sa_handler == SIG_IGN ? "SIG_IGN" : "handler",
           (unsigned)(old.sa_flags & ~0x04000000 /* SA_RESTORER */), sigisemptyset(&old.sa_mask));
  return buf;
}

static int stage_after(const char* timer_arg) {
  printf("after: the new image\n");
  for (int fd = 10; fd <= 13; fd++) printf("  fd %d: %s\n", fd, fcntl(fd, F_GETFD) >= 0 ? "open" : "closed");
  CHECK(fcntl(10, F_GETFD) == 0 && fcntl(11, F_GETFD) < 0 && fcntl(12, F_GETFD) < 0 && fcntl(13, F_GETFD) == 0);
  /* The descriptors below 10 are native's (the program's own file, which Vireo's execve opens
     for its checks and its load, is not left to the new image): compared with native's run. */
  int others = 0;
  for (int fd = 3; fd < 10; fd++) others += fcntl(fd, F_GETFD) >= 0;
  printf("  fds open from 3 to 9: %d\n", others);
  printf("  SIGUSR1: %s\n", disposition(SIGUSR1));
  printf("  SIGRTMIN+2: %s\n", disposition(SIGRTMIN + 2));
  printf("  SIGUSR2: %s\n", disposition(SIGUSR2));
  sigset_t mask, pending;
  OK(sigprocmask(SIG_BLOCK, NULL, &mask));
  OK(sigpending(&pending));
  printf("  SIGHUP blocked %d pending %d\n", sigismember(&mask, SIGHUP), sigismember(&pending, SIGHUP));
  CHECK(sigismember(&pending, SIGHUP) == 1);
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  struct timespec zero = {0, 0};
  printf("  sigtimedwait takes SIGHUP: %d\n", sigtimedwait(&hup, NULL, &zero) == SIGHUP);
  stack_t ss;
  OK(sigaltstack(NULL, &ss));
  printf("  alternate stack: %s\n", (ss.ss_flags & SS_DISABLE) ? "disabled" : "set");
  struct itimerspec its;
  errno = 0;
  long r = syscall(SYS_timer_gettime, atoi(timer_arg), &its);
  printf("  the old POSIX timer: %s\n", r == 0 ? "still there" : errno_name(errno));
  const char* execfn = (const char*)getauxval(AT_EXECFN);
  printf("  AT_EXECFN: %s\n", execfn ? execfn : "(none)");
  show_file("/proc/self/cmdline");
  show_file("/proc/self/environ");
  printf("  environ:");
  for (char** e = environ; *e; e++) printf(" %s", *e);
  printf("\n");
  if (stage_done("exec_semantics after")) return 1;
  char pid[16];
  snprintf(pid, sizeof pid, "%d", getpid());
  setenv("FIRST_PID", pid, 1);
  exec_stage("count", "1");
  return 1;
}

static int same_pid(void) {
  const char* p = getenv("FIRST_PID");
  return p && atoi(p) == getpid();
}

static int stage_count(const char* n_arg) {
  int n = atoi(n_arg);
  printf("count %d: same pid %d\n", n, same_pid());
  CHECK(same_pid());
  if (stage_done("exec_semantics count")) return 1;
  if (n < 5) {
    char next[16];
    snprintf(next, sizeof next, "%d", n + 1);
    exec_stage("count", next);
  }
  exec_stage("mt", "");
  return 1;
}

static void* sleeper(void* arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

static pthread_barrier_t started;
static void* sleeper_synced(void* arg) {
  pthread_barrier_wait(&started);
  return sleeper(arg);
}

static int stage_mt(void) {
  pthread_barrier_init(&started, NULL, 4);
  pthread_t t[3];
  for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, sleeper_synced, NULL);
  pthread_barrier_wait(&started);
  printf("mt: threads before exec: %d\n", task_count());
  exec_stage("mt_after", "");
  return 1;
}

static void* exec_from_thread(void* arg) {
  (void)arg;
  exec_stage("thread_after", "");
  return NULL;
}

static int stage_mt_after(void) {
  printf("mt_after: threads %d, same pid %d\n", task_count(), same_pid());
  CHECK(task_count() == 1 && same_pid());
  if (stage_done("exec_semantics mt_after")) return 1;
  pthread_t t;
  pthread_create(&t, NULL, exec_from_thread, NULL);
  pthread_join(t, NULL);  /* never returns: the thread's exec replaces the process */
  printf("thread exec returned\n");
  return 1;
}

static int stage_thread_after(void) {
  printf("thread_after: threads %d, same pid %d\n", task_count(), same_pid());
  CHECK(task_count() == 1 && same_pid());
  if (stage_done("exec_semantics thread_after")) return 1;
  exec_stage("robust", "");
  return 1;
}

static int stage_robust(void) {
  pthread_mutex_t* m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(m != MAP_FAILED);
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(m, &a);
  int ready[2];
  OK(pipe(ready));
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    pthread_mutex_lock(m);
    char c = 1;
    if (write(ready[1], &c, 1) != 1) _exit(3);
    char* args[] = {"exec_semantics", "robust_child", NULL};
    execve("/proc/self/exe", args, environ);
    _exit(127);
  }
  char c;
  OK(read(ready[0], &c, 1));
  int status;
  OK(waitpid(pid, &status, 0));
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 5;
  int r = pthread_mutex_timedlock(m, &until);
  printf("robust: lock after the holder exec'd: %s\n",
         r == EOWNERDEAD ? "EOWNERDEAD" : r == ETIMEDOUT ? "ETIMEDOUT" : r == 0 ? "0" : "other");
  CHECK(r == EOWNERDEAD);
  if (stage_done("exec_semantics robust")) return 1;
  exec_stage("vfork", "");
  return 1;
}

static int stage_vfork(void) {
  fflush(stdout);
  pid_t pid = vfork();
  if (pid == 0) {
    char* args[] = {"exec_semantics", "vchild", NULL};
    execve("/proc/self/exe", args, self_env);
    _exit(127);
  }
  int status = 0;
  OK(waitpid(pid, &status, 0));
  printf("vfork: child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
  pid_t spawned;
  char* args[] = {"nothing", NULL};
  int e = posix_spawn(&spawned, "/nonexistent/program", NULL, NULL, args, self_env);
  printf("vfork: posix_spawn of a missing program: %s\n", errno_name(e));
  CHECK(e == ENOENT);
  if (stage_done("exec_semantics vfork")) return 1;
  exec_stage("script", "");
  return 1;
}

static int stage_script(void) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  CHECK(n > 0);
  self[n > 0 ? n : 0] = 0;
  int fd = OK(open("exec_script", O_WRONLY | O_CREAT | O_TRUNC, 0755));
  dprintf(fd, "#!%s script_run\nthis line is not read\n", self);
  close(fd);
  fflush(stdout);
  char* args[] = {"my-script-name", "arg1", NULL};
  execve("./exec_script", args, self_env);
  printf("script exec failed: %s\n", strerror(errno));
  return 1;
}

static int stage_script_run(int argc, char** argv) {
  printf("script_run: argc %d, argv[2] %s, argv[3] %s\n", argc, argc > 2 ? argv[2] : "-",
         argc > 3 ? argv[3] : "-");
  const char* execfn = (const char*)getauxval(AT_EXECFN);
  printf("  AT_EXECFN: %s\n", execfn ? execfn : "(none)");
  CHECK(argc == 4 && strcmp(argv[2], "./exec_script") == 0 && strcmp(argv[3], "arg1") == 0);
  unlink("exec_script");
  unlink("plain_file");
  unlink("junk_exe");
  unlink("bad_script");
  unlink("empty_exe");
  unlink("short_exe");
  unlink("magic_only");
  unlink("loop_script");
  return finish("exec_semantics");
}

int main(int argc, char** argv) {
  const char* stage = argc > 1 ? argv[1] : "start";
  const char* arg = argc > 2 ? argv[2] : "";
  if (!strcmp(stage, "start")) return stage_start();
  if (!strcmp(stage, "after")) return stage_after(arg);
  if (!strcmp(stage, "count")) return stage_count(arg);
  if (!strcmp(stage, "mt")) return stage_mt();
  if (!strcmp(stage, "mt_after")) return stage_mt_after();
  if (!strcmp(stage, "thread_after")) return stage_thread_after();
  if (!strcmp(stage, "robust")) return stage_robust();
  if (!strcmp(stage, "robust_child")) return 0;
  if (!strcmp(stage, "vfork")) return stage_vfork();
  if (!strcmp(stage, "vchild")) {
    printf("vchild: running\n");
    return 7;
  }
  if (!strcmp(stage, "script")) return stage_script();
  if (!strcmp(stage, "script_run")) return stage_script_run(argc, argv);
  printf("unknown stage %s\n", stage);
  return 1;
}
