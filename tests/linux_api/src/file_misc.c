/* The miscellaneous file and process calls: copy_file_range, sendfile, splice, tee, vmsplice,
 * fallocate, statfs/fstatfs, flock, openat2, faccessat2, close_range, the old getdents,
 * extended attributes, getrusage, times, sched_*affinity and scheduling policy, prctl,
 * personality, pidfd_open and pidfd_send_signal, restart_syscall. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "api_test.h"

/* openat2's argument (linux/openat2.h, which musl's headers do not carry). */
struct open_how {
  uint64_t flags, mode, resolve;
};
#define RESOLVE_BENEATH 0x08

static void copies(void) {
  int src = (int)OK(open("src.txt", O_RDWR | O_CREAT | O_TRUNC, 0644));
  char text[4000];
  for (int i = 0; i < (int)sizeof text; i++) text[i] = (char)('a' + i % 26);
  OK(write_all(src, text, sizeof text));
  int dst = (int)OK(open("dst.txt", O_RDWR | O_CREAT | O_TRUNC, 0644));
  loff_t in = 100, out = 0;
  printf("copy_file_range: %ld, offsets %lld %lld\n", (long)OK(syscall(SYS_copy_file_range, src, &in, dst, &out, 1000L, 0)),
         (long long)in, (long long)out);
  off_t off = 1100;
  printf("sendfile: %ld, offset %lld\n", (long)OK(sendfile(dst, src, &off, 500)), (long long)off);
  int p[2], q[2];
  OK(pipe(p));
  OK(pipe(q));
  loff_t soff = 0;
  printf("splice file->pipe: %ld\n", (long)OK(splice(src, &soff, p[1], NULL, 300, 0)));
  printf("tee pipe->pipe: %ld\n", (long)OK(tee(p[0], q[1], 300, 0)));
  printf("splice pipe->file: %ld\n", (long)OK(splice(p[0], NULL, dst, NULL, 300, 0)));
  char got[300];
  printf("tee copy reads: %ld\n", read_all(q[0], got, 300));
  CHECK(memcmp(got, text, 300) == 0);
  struct iovec v[2] = {{"vm", 2}, {"splice", 6}};
  printf("vmsplice: %ld\n", (long)OK(vmsplice(q[1], v, 2, 0)));
  printf("read back '%.*s'\n", (int)read(q[0], got, sizeof got), got);
  struct stat st;
  OK(fstat(dst, &st));
  printf("dst size %lld\n", (long long)st.st_size);
  OK(fallocate(dst, 0, 0, 65536));
  OK(fstat(dst, &st));
  printf("after fallocate: size %lld, blocks cover it %d\n", (long long)st.st_size, st.st_blocks * 512 >= 65536);
  FAILS_WITH(fallocate(dst, 0, -1, 10), EINVAL);
  struct statfs a, b;
  OK(statfs(".", &a));
  OK(fstatfs(dst, &b));
  printf("statfs/fstatfs agree: %d\n", a.f_type == b.f_type && a.f_bsize == b.f_bsize);
  /* Block-device ioctls on a regular file: ENOTTY, as e2fsck and mkfs expect to be told. */
  uint64_t sectors;
  FAILS_WITH(ioctl(dst, 0x80081272 /* BLKGETSIZE64 */, &sectors), ENOTTY);
  FAILS_WITH(ioctl(dst, 0x1268 /* BLKSSZGET */, &sectors), ENOTTY);
  OK(flock(dst, LOCK_EX | LOCK_NB));
  int other = (int)OK(open("dst.txt", O_RDONLY));
  FAILS_WITH(flock(other, LOCK_SH | LOCK_NB), EWOULDBLOCK);
  OK(flock(dst, LOCK_UN));
  OK(flock(other, LOCK_SH | LOCK_NB));
  close(other);
  close(src);
  close(dst);
  close(p[0]), close(p[1]), close(q[0]), close(q[1]);

  /* openat2 with RESOLVE_BENEATH: ".." escapes are refused. */
  OK(mkdir("sub", 0755));
  int dir = (int)OK(open("sub", O_DIRECTORY | O_RDONLY));
  struct open_how how = {.flags = O_RDONLY, .resolve = RESOLVE_BENEATH};
  FAILS_WITH(syscall(SYS_openat2, dir, "../src.txt", &how, sizeof how), EXDEV);
  how.resolve = 0;
  int f = (int)OK(syscall(SYS_openat2, dir, "../src.txt", &how, sizeof how));
  close(f);
  FAILS_WITH(syscall(SYS_openat2, dir, "../src.txt", &how, 8L), EINVAL);
  struct { struct open_how h; uint64_t extra; } big = {how, 1};
  FAILS_WITH(syscall(SYS_openat2, dir, "../src.txt", &big, sizeof big), E2BIG);
  big.extra = 0;
  f = (int)OK(syscall(SYS_openat2, dir, "../src.txt", &big, sizeof big));
  close(f);
  OK(syscall(SYS_faccessat2, dir, "../src.txt", R_OK, AT_EACCESS));
  FAILS_WITH(syscall(SYS_faccessat2, dir, "missing", R_OK, 0), ENOENT);

  /* The old getdents on a directory with one entry. */
  OK(close(open("sub/entry", O_CREAT | O_WRONLY, 0644)));
  char dents[1024];
  long n = OK(syscall(SYS_getdents, dir, dents, sizeof dents));
  int entries = 0;
  for (long pos = 0; pos < n; pos += *(unsigned short*)(dents + pos + 16)) entries++;
  printf("getdents: %d entries\n", entries);

  /* Extended attributes (if the file system has user xattrs: same answer natively). */
  int xr = (int)setxattr("src.txt", "user.vireo", "value", 5, 0);
  if (xr == 0) {
    char val[16] = {0};
    printf("xattr: get %ld '%s'\n", (long)getxattr("src.txt", "user.vireo", val, sizeof val), val);
    char list[64];
    printf("xattr: list %ld\n", (long)listxattr("src.txt", list, sizeof list));
    OK(removexattr("src.txt", "user.vireo"));
    FAILS_WITH(getxattr("src.txt", "user.vireo", val, sizeof val), ENODATA);
  } else {
    printf("xattr: setxattr failed (%s)\n", strerror(errno));
  }
  FAILS_WITH(getxattr((const char*)8, "user.vireo", NULL, 0), EFAULT);
  unlink("sub/entry");
  rmdir("sub");
  close(dir);
  unlink("src.txt");
  unlink("dst.txt");

  /* close_range: closes fds 10..20, leaves 9. */
  for (int fd = 9; fd <= 12; fd++) dup2(1, fd);
  OK(syscall(SYS_close_range, 10, 20, 0));
  printf("close_range: fd 9 open %d, fd 10 open %d\n", fcntl(9, F_GETFD) >= 0, fcntl(10, F_GETFD) >= 0);
  close(9);
}

static void process_calls(void) {
  struct rusage ru;
  OK(getrusage(RUSAGE_SELF, &ru));
  printf("getrusage: max rss positive %d\n", ru.ru_maxrss > 0);
  struct tms t;
  printf("times: positive %d\n", times(&t) > 0);
  cpu_set_t set;
  CPU_ZERO(&set);
  OK(sched_getaffinity(0, sizeof set, &set));
  printf("sched_getaffinity: some cpu %d\n", CPU_COUNT(&set) > 0);
  OK(sched_setaffinity(0, sizeof set, &set));
  /* (musl answers sched_getscheduler/getparam with ENOSYS itself: straight to the kernel) */
  printf("sched_getscheduler: %ld, priority range %d..%d\n", syscall(SYS_sched_getscheduler, 0),
         sched_get_priority_min(SCHED_FIFO), sched_get_priority_max(SCHED_FIFO));
  struct sched_param sp;
  OK(syscall(SYS_sched_getparam, 0, &sp));
  struct timespec rr;
  OK(sched_rr_get_interval(0, &rr));
  char name[16];
  OK(prctl(PR_SET_NAME, "vireo-misc"));
  OK(prctl(PR_GET_NAME, name));
  int sig = -1;
  OK(prctl(PR_SET_PDEATHSIG, SIGTERM));
  OK(prctl(PR_GET_PDEATHSIG, &sig));
  printf("prctl: name '%s', pdeathsig %d, dumpable %d\n", name, sig == SIGTERM, (int)prctl(PR_GET_DUMPABLE));
  OK(prctl(PR_SET_PDEATHSIG, 0));
  printf("personality: linux %d\n", (personality(0xffffffff) & 0xff) == PER_LINUX);

  /* pidfd: signal a child through its pidfd and wait for it. */
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    pause();
    _exit(0);
  }
  int pfd = (int)OK(syscall(SYS_pidfd_open, pid, 0));
  OK(syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 0));
  int status;
  OK(waitpid(pid, &status, 0));
  printf("pidfd: child killed by SIGTERM %d\n", WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  close(pfd);

  /* (The calls Vireo answers as a kernel without the feature, io_uring and the like, differ
   * from this host on purpose: linux_api.syscall_policy checks them.) */
  FAILS_WITH(syscall(SYS_restart_syscall), EINTR);
}

int main(void) {
  time_bound(20);
  setvbuf(stdout, NULL, _IOLBF, 0);
  copies();
  process_calls();
  return finish("file_misc");
}
