/* A hostile program's system calls and faults, answered as Linux answers them: bad pointers in
 * every argument position of ~100 calls (NULL, 1, kernel half, non-canonical, read-only,
 * PROT_NONE, unmapped), numbers Linux never assigned (-ENOSYS and not a word on stderr), and the
 * signal frame's trapno/err/cr2 after each CPU exception (and, stale, after a kill()).
 * Only results are printed (a positive result as 1), compared with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "api_test.h"

static long sc(long nr, long a, long b, long c, long d, long e, long f) {
  long v = syscall(nr, a, b, c, d, e, f);
  return v < 0 ? -errno : (v > 0 ? 1 : 0);
}
#define CALL(nr, a, b, c, d, e, f)                                                        \
  printf("%-22s %-8s %ld\n", #nr, bad_name,                                              \
         sc(nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f)))

/* A zero timeout (timespec or timeval) that no call writes to. */
static const long zero_timeout[2];

static void bad_pointers(void) {
  char* ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char* none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char* ok = calloc(1, 65536);
  int fd = open("/proc/self/exe", O_RDONLY);
  int sv[2], pfd[2];
  OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  OK(pipe(pfd));
  OK(write(sv[1], "abcdefgh", 8));
  OK(write(pfd[1], "xyz", 3));
  /* Last, so that nothing above is placed in the hole. */
  char* hole = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(hole, 4096);
  const struct { const char* name; long p; } bads[] = {
      {"null", 0}, {"one", 1}, {"kernel", (long)0xffff880000000000UL},
      {"noncanon", 0x0000800000000000L}, {"ro", (long)ro}, {"none", (long)none},
      {"hole", (long)hole},
  };
  for (unsigned i = 0; i < sizeof bads / sizeof *bads; i++) {
    const char* bad_name = bads[i].name;
    long B = bads[i].p;
    CALL(SYS_read, fd, B, 16, 0, 0, 0);
    CALL(SYS_pread64, fd, B, 16, 0, 0, 0);
    CALL(SYS_write, 1, B, 0, 0, 0, 0);
    CALL(SYS_write, pfd[1], B, 4, 0, 0, 0);
    CALL(SYS_readv, fd, B, 1, 0, 0, 0);
    CALL(SYS_writev, 1, B, 1, 0, 0, 0);
    CALL(SYS_recvfrom, sv[0], B, 1, MSG_PEEK, 0, 0);
    CALL(SYS_open, B, O_RDONLY, 0, 0, 0, 0);
    CALL(SYS_openat, AT_FDCWD, B, O_RDONLY, 0, 0, 0);
    CALL(SYS_stat, "/", B, 0, 0, 0, 0);
    CALL(SYS_stat, B, ok, 0, 0, 0, 0);
    CALL(SYS_fstat, fd, B, 0, 0, 0, 0);
    CALL(SYS_newfstatat, AT_FDCWD, "/", B, 0, 0, 0);
    CALL(SYS_statx, AT_FDCWD, "/", 0, 0x7ff, B, 0);
    CALL(SYS_getcwd, B, 100, 0, 0, 0, 0);
    CALL(SYS_uname, B, 0, 0, 0, 0, 0);
    CALL(SYS_pipe2, B, 0, 0, 0, 0, 0);
    CALL(SYS_clock_gettime, CLOCK_MONOTONIC, B, 0, 0, 0, 0);
    CALL(SYS_gettimeofday, B, 0, 0, 0, 0, 0);
    CALL(SYS_nanosleep, B, 0, 0, 0, 0, 0);
    CALL(SYS_rt_sigaction, SIGUSR1, B, 0, 8, 0, 0);
    CALL(SYS_rt_sigaction, SIGUSR1, 0, B, 8, 0, 0);
    CALL(SYS_rt_sigprocmask, SIG_BLOCK, B, 0, 8, 0, 0);
    CALL(SYS_rt_sigprocmask, SIG_BLOCK, 0, B, 8, 0, 0);
    CALL(SYS_sigaltstack, 0, B, 0, 0, 0, 0);
    CALL(SYS_poll, B, 1, 0, 0, 0, 0);
    CALL(SYS_select, 1, B, 0, 0, zero_timeout, 0);
    CALL(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, B, 0, 0);
    CALL(SYS_getrusage, 0, B, 0, 0, 0, 0);
    CALL(SYS_sysinfo, B, 0, 0, 0, 0, 0);
    CALL(SYS_times, B, 0, 0, 0, 0, 0);
    CALL(SYS_getresuid, B, B, B, 0, 0, 0);
    CALL(SYS_readlink, "/proc/self/exe", B, 100, 0, 0, 0);
    CALL(SYS_readlink, B, ok, 100, 0, 0, 0);
    CALL(SYS_access, B, F_OK, 0, 0, 0, 0);
    CALL(SYS_chdir, B, 0, 0, 0, 0, 0);
    CALL(SYS_mkdir, B, 0755, 0, 0, 0, 0);
    CALL(SYS_unlink, B, 0, 0, 0, 0, 0);
    CALL(SYS_rename, B, B, 0, 0, 0, 0);
    CALL(SYS_getdents64, fd, B, 100, 0, 0, 0);
    CALL(SYS_wait4, -1, B, WNOHANG, 0, 0, 0);
    CALL(SYS_waitid, P_ALL, 0, B, WNOHANG | WEXITED, 0, 0);
    CALL(SYS_futex, B, 0 /* FUTEX_WAIT */, 1, 0, 0, 0);
    CALL(SYS_get_robust_list, 0, B, B, 0, 0, 0);
    CALL(SYS_sched_getaffinity, 0, 128, B, 0, 0, 0);
    CALL(SYS_sched_getparam, 0, B, 0, 0, 0, 0);
    CALL(SYS_getrandom, B, 16, 0, 0, 0, 0);
    CALL(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, B, 0, 0);
    CALL(SYS_bind, sv[0], B, 16, 0, 0, 0);
    CALL(SYS_connect, sv[0], B, 16, 0, 0, 0);
    CALL(SYS_getsockname, sv[0], B, ok, 0, 0, 0);
    CALL(SYS_getsockopt, sv[0], SOL_SOCKET, SO_TYPE, B, ok, 0);
    CALL(SYS_setsockopt, sv[0], SOL_SOCKET, SO_RCVBUF, B, 4, 0);
    CALL(SYS_sendmsg, sv[0], B, 0, 0, 0, 0);
    CALL(SYS_recvmsg, sv[0], B, MSG_DONTWAIT, 0, 0, 0);
    CALL(SYS_ioctl, pfd[0], 0x541B /* FIONREAD */, B, 0, 0, 0);
    CALL(SYS_fcntl, fd, F_GETLK, B, 0, 0, 0);
    CALL(SYS_epoll_wait, 0, B, 1, 0, 0, 0);
    CALL(SYS_timer_create, CLOCK_MONOTONIC, B, B, 0, 0, 0);
    CALL(SYS_setitimer, 0, B, 0, 0, 0, 0);
    CALL(SYS_getitimer, 0, B, 0, 0, 0, 0);
    CALL(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, B, 0, 0, 0);
    CALL(SYS_execve, B, 0, 0, 0, 0, 0);
    CALL(SYS_utimensat, AT_FDCWD, "/nonexistent-x", B, 0, 0, 0);
    CALL(SYS_sendfile, 1, fd, B, 0, 0, 0);
    CALL(SYS_mincore, ok, 4096, B, 0, 0, 0);
    CALL(SYS_statfs, "/", B, 0, 0, 0, 0);
    CALL(SYS_rt_sigpending, B, 8, 0, 0, 0, 0);
    CALL(SYS_rt_sigtimedwait, B, 0, zero_timeout, 8, 0, 0);
    CALL(SYS_ppoll, B, 1, zero_timeout, 0, 8, 0);
    CALL(SYS_prctl, PR_SET_NAME, B, 0, 0, 0, 0);
    CALL(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, B, 0, 0, 0, 0);
    CALL(SYS_memfd_create, B, 0, 0, 0, 0, 0);
    CALL(SYS_inotify_add_watch, 0, B, 0, 0, 0, 0);
    CALL(SYS_process_vm_readv, getpid(), B, 1, B, 1, 0);
    CALL(SYS_msgsnd, -1, B, 0, 0, 0, 0);
    CALL(SYS_mq_open, B, 0, 0, 0, 0, 0);
  }
  /* inotify_add_watch checks the mask, then the descriptor, then reads the path. */
  int in = inotify_init1(0);
  const char* bad_name = "inotify";
  CALL(SYS_inotify_add_watch, in, 0, 0, 0, 0, 0);
  CALL(SYS_inotify_add_watch, in, 0, 2 /* IN_MODIFY */, 0, 0, 0);
  CALL(SYS_inotify_add_watch, 999, 0, 2, 0, 0, 0);
  CALL(SYS_inotify_add_watch, fd, 0, 2, 0, 0, 0);
  CALL(SYS_sched_setparam, 0, 0, 0, 0, 0, 0);
  CALL(SYS_sched_setscheduler, 0, 0, 0, 0, 0, 0);
}

/* Numbers Linux never assigned: -ENOSYS, silently (stderr is compared too). (Not 335: Linux
 * 6.11 made it uretprobe, which raises SIGILL; nor 451 and up, assigned since 6.1.) */
static void unknown_numbers(void) {
  const long nrs[] = {400, 423, 512, 1000, 100000, -1, 0x40000000 + 39, 0x7fffffff};
  for (unsigned i = 0; i < sizeof nrs / sizeof *nrs; i++) {
    errno = 0;
    long r = syscall(nrs[i], 1, 2, 3, 4, 5, 6);
    printf("syscall %ld: %ld errno %d\n", nrs[i], r, errno);
  }
}

static sigjmp_buf jb;
static volatile int seen_sig, seen_code;
static volatile long seen_trapno, seen_err;
static void* volatile seen_addr;
static void* volatile seen_cr2;
static void handler(int sig, siginfo_t* si, void* ucv) {
  ucontext_t* uc = ucv;
  seen_sig = sig;
  seen_code = si->si_code;
  seen_addr = si->si_addr;
  seen_trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
  seen_err = uc->uc_mcontext.gregs[REG_ERR];
  seen_cr2 = (void*)uc->uc_mcontext.gregs[REG_CR2];
  siglongjmp(jb, 1);
}
static void* volatile expect;
#define FAULT(name, stmt)                                                                   \
  do {                                                                                      \
    seen_sig = 0;                                                                           \
    if (!sigsetjmp(jb, 1)) { stmt; }                                                        \
    printf("%-12s sig %d code %d trapno %ld err %ld addr %s cr2 %s\n", name, seen_sig,        \
           seen_code, seen_trapno, seen_err,                                                \
           seen_addr == expect ? "=" : (seen_addr ? "other" : "0"),                          \
           seen_cr2 == expect ? "=" : (seen_cr2 ? "other" : "0"));                           \
  } while (0)

static void faults(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO;
  int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGUSR2};
  for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) OK(sigaction(sigs[i], &sa, NULL));
  char* ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char* none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  (void)*(volatile char*)ro; /* present, so that a fetch from it is a protection fault */
  /* (through a volatile pointer: a constant one is undefined behaviour the compiler traps on) */
  int* volatile low = (int*)16;
  expect = low;
  FAULT("null+16", *low = 1);
  /* A kill() frame carries the last exception's trapno, err and cr2. */
  FAULT("kill-after", kill(getpid(), SIGUSR2));
  expect = ro;
  FAULT("ro-write", *(volatile char*)ro = 1);
  FAULT("ro-exec", ((void (*)(void))ro)());
  expect = none;
  FAULT("none-read", (void)*(volatile char*)none);
  FAULT("none-exec", ((void (*)(void))none)());
  FAULT("kill-after", kill(getpid(), SIGUSR2));
  FAULT("ud2", __asm__ volatile("ud2"));
  FAULT("int3", __asm__ volatile("int3"));
  FAULT("hlt", __asm__ volatile("hlt"));
  FAULT("int-0x81", __asm__ volatile("int $0x81"));
  FAULT("icebp", __asm__ volatile(".byte 0xf1"));
  FAULT("kill-after", kill(getpid(), SIGUSR2));
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  time_bound(20);
  unknown_numbers();
  bad_pointers();
  time_bound(20); /* (setitimer with a NULL or zeroed value disarmed it) */
  faults();
  return finish("hostile_args");
}
