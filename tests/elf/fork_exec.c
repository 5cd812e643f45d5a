// fork, pipe, execve, wait4, vfork and kill-to-self, with raw system calls (no libc, so it runs
// however few instructions an engine knows). argv[1]: a static program that prints "ok".
static long sc(long n, long a, long b, long c, long d) {
  long r;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return r;
}
static void say(const char* s) {
  long n = 0;
  while (s[n]) n++;
  sc(1, 1, (long)s, n, 0);
}
static void fail(const char* what) {
  say("FAIL ");
  say(what);
  say("\n");
  sc(231, 1, 0, 0, 0);
}

__attribute__((used)) void cmain(long* sp) {
  char** argv = (char**)(sp + 1);
  char* prog = argv[1];
  int fds[2];
  if (sc(22, (long)fds, 0, 0, 0) != 0) fail("pipe");
  long pid = sc(57, 0, 0, 0, 0);  // fork
  if (pid == 0) {
    sc(33, fds[1], 1, 0, 0);  // dup2 onto stdout
    char* args[] = {prog, 0};
    sc(59, (long)prog, (long)args, 0, 0);
    sc(60, 99, 0, 0, 0);
  }
  sc(3, fds[1], 0, 0, 0);
  char buf[16];
  long got = 0, n;
  while ((n = sc(0, fds[0], (long)(buf + got), 15 - got, 0)) > 0) got += n;
  if (got != 3 || buf[0] != 'o' || buf[1] != 'k') fail("child output through the pipe");
  int status = -1;
  if (sc(61, pid, (long)&status, 0, 0) != pid || status != 0) fail("wait4 status of exec'd child");
  pid = sc(58, 0, 0, 0, 0);  // vfork: the child execs something missing and exits with errno
  if (pid == 0) {
    char* args[] = {"x", 0};
    long e = sc(59, (long)"/nonexistent/program", (long)args, 0, 0);
    sc(60, -e, 0, 0, 0);
  }
  if (sc(61, pid, (long)&status, 0, 0) != pid || ((status >> 8) & 0xff) != 2) fail("vfork child saw ENOENT");
  char link[256];
  long len = sc(89, (long)"/proc/self/exe", (long)link, sizeof link, 0);
  if (len < 10 || link[0] != '/' || link[len - 1] != 'c') fail("readlink /proc/self/exe names the guest (…fork_exec)");
  say("all ok\n");
  sc(62, sc(39, 0, 0, 0, 0), 15, 0, 0);  // kill(getpid(), SIGTERM): default action ends us
  fail("still alive after SIGTERM");
}
__asm__(".globl _start\n_start: mov %rsp,%rdi\n and $-16,%rsp\n call cmain\n");
