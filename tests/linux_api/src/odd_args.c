/* Odd and huge arguments, answered as Linux answers them: counts of 2^40 and SIZE_MAX, negative
 * offsets, mmap/brk/mprotect/mremap with impossible sizes, brk(-1) (whose page-aligned end wraps
 * to 0: it must fail and leave the heap, not unmap everything below it), out-of-range fds,
 * signals and clocks, unknown fcntl/futex/prctl/ioctl commands (ioctl: -ENOTTY and silence),
 * poll's nfds, an unsigned int (2^40 is 0 fds), and read/pread/write of 2^40 bytes at a 1 MiB
 * buffer (the kernel writes only what there is: the jit once walked all 2^28 pages of the
 * range looking for code). Each line prints the result and errno. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <stdint.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/resource.h>
/* Prints the call, its result and errno. */
#define R(x) do { errno = 0; long v_ = (long)(x); printf("%-50s %ld %d\n", #x, v_, v_ < 0 ? errno : 0); } while (0)
int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int fd = open("/etc/passwd", O_RDONLY);
  char* buf = malloc(1 << 20);
  int p[2]; pipe2(p, O_NONBLOCK); /* (a write that blocked would hang the test) */
  R(pread(fd, buf, 10, -1));
  R(lseek(fd, -1, SEEK_SET));
  R(lseek(fd, 1L << 62, SEEK_SET));
  R(read(fd, buf, SIZE_MAX));
  R(read(fd, buf, (size_t)1 << 63));
  R(write(p[1], "ab", 2));
  R(read(p[0], buf, 100));
  {
    /* At a fixed low address, so that buf + 2^40 passes the kernel's access_ok natively and
     * under Vireo alike (malloc's address differs between the two layouts). */
    char* low = mmap((void*)0x10000000, 1 << 20, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    R(low == (void*)0x10000000);
    R(pread(fd, low, 1L << 40, 0) > 0);
    R(read(fd, low, 1L << 40) > 0);
    R(write(p[1], low, 1L << 40));
    R(read(p[0], low, 1L << 40));
    R(readv(fd, &(struct iovec){low, 1L << 40}, 1));
    lseek(fd, 0, SEEK_SET);
  }
  R(mmap(0, 1L << 50, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED);
  R(mmap(0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED);
  R(mmap(0, SIZE_MAX, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED);
  R(mmap((void*)1, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED);
  R(mmap(0, 4096, 0xff, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED);
  R(mmap(0, 4096, PROT_READ, 0xffff, -1, 0) == MAP_FAILED);
  R(mmap(0, 4096, PROT_READ, MAP_PRIVATE, 12345, 0) == MAP_FAILED);
  R(mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 1) == MAP_FAILED);

  {
    /* mprotect in Linux's order: grow flags, alignment, length 0 (success, whatever the
     * protection), a wrapping range (ENOMEM), unknown bits (EINVAL), then the mappings, changed
     * until the first hole (ENOMEM): a range far past the end of everything changes what it
     * covers. The protection shows in whether read() can fill the page (EFAULT if not). */
    char* two = mmap((void*)0x20000000, 2 << 12, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    R(two == (void*)0x20000000);
    R(mprotect(two, 1L << 50, PROT_READ));
    R(pread(fd, two + 4096, 1, 0));
    R(mprotect(two, 3 << 12, PROT_READ | PROT_WRITE));
    R(pread(fd, two + 4096, 1, 0));
    R(mprotect(two, SIZE_MAX, PROT_READ));
    R(pread(fd, two, 1, 0));
    R(mprotect(two, 0, 0x100));
    R(mprotect(two, 4096, 0x100));
    R(mprotect(two + (8 << 12), 4096, 0x100));
    R(mprotect(two + (8 << 12), 4096, PROT_READ));
    R(mprotect(two + 1, 4096, 0x100));
    R(mprotect(two, 4096, PROT_GROWSDOWN | PROT_GROWSUP));
    R(mprotect((void*)(1L << 47), 4096, PROT_READ));
    R(mprotect((void*)(1L << 46), 1L << 40, PROT_READ));
  }
  R(munmap(buf + 1, 10));
  R(mprotect(buf, 1L << 50, PROT_READ));
  R(madvise(buf, 4096, 12345));
  R(brk((void*)-1));
  R(syscall(SYS_brk, 0) > 0);
  R(dup2(1, 100000));
  R(dup2(1, -1));
  R(fcntl(1, 12345));
  R(fcntl(1, F_DUPFD, 1 << 30));
  R(close(-1));
  R(close(1 << 30));
  struct iovec iov[2000]; for (int i = 0; i < 2000; i++) { iov[i].iov_base = buf; iov[i].iov_len = 1; }
  R(writev(p[1], iov, 2000));
  R(writev(p[1], iov, 1024));
  R(readv(p[0], iov, -1));
  R(kill(-1234567, 0));
  R(kill(getpid(), 100));
  R(syscall(SYS_rt_sigaction, 100, 0, 0, 8));
  R(syscall(SYS_rt_sigaction, 10, 0, 0, 4));
  R(syscall(SYS_rt_sigprocmask, 99, 0, 0, 8));
  R(sleep(0));
  R(usleep(0));
  R(syscall(SYS_nanosleep, (long[]){0, 2000000000L}, 0));
  R(syscall(SYS_nanosleep, (long[]){-1, 0}, 0));
  R(syscall(SYS_clock_gettime, 12345, buf));
  R(syscall(SYS_clock_gettime, -1, buf));
  R(syscall(SYS_getcwd, buf, 1));
  R(syscall(SYS_getcwd, buf, 0));
  R(open("", O_RDONLY));
  R(ftruncate(fd, -1));
  R(syscall(SYS_exit_group + 1000));
  R(syscall(SYS_futex, buf, 12345, 0, 0, 0, 0));
  R(syscall(SYS_arch_prctl, 12345, 0));
  R(syscall(SYS_prctl, 12345, 0, 0, 0, 0));
  R(syscall(SYS_ioctl, 1, 0xdeadbeef, 0));
  R(syscall(SYS_socket, 12345, 1, 0));
  R(syscall(SYS_socket, AF_INET, 12345, 0));
  R(syscall(SYS_setsockopt, p[0], 1, 1, buf, 4));
  R(syscall(SYS_getrlimit, 12345, buf));
  /* prlimit of another process: the host's answer (CPython's test_resource: pid -1 is ESRCH) */
  /* (into lim: with musl, buf is page-aligned and the huge mprotect above made its first pages
   * read-only natively, as Linux changes the mappings before the first hole) */
  long lim[2];
  R(syscall(SYS_prlimit64, -1, RLIMIT_AS, 0, lim));
  R(syscall(SYS_prlimit64, 0x3fffffff, RLIMIT_AS, 0, lim));
  R(syscall(SYS_prlimit64, getppid(), RLIMIT_NOFILE, 0, lim));
  R(syscall(SYS_prlimit64, getppid(), 12345, 0, lim));
  R(syscall(SYS_prlimit64, getpid(), RLIMIT_NOFILE, 0, lim));
  R(syscall(SYS_mremap, buf, 4096, 1L << 50, 1));
  R(syscall(SYS_select, -1, 0, 0, 0, 0));
  R(syscall(SYS_poll, buf, 1L << 40, 0));
  R(syscall(SYS_epoll_create, 0));
  R(syscall(SYS_epoll_create1, 12345));
  R(syscall(SYS_pipe2, buf, 12345));
  R(syscall(SYS_wait4, 0x7fffffff, 0, 0, 0));
  R(syscall(SYS_wait4, -1, 0, 12345, 0));
  R(syscall(SYS_execve, "/nonexistent/true", (char*[]){0}, (char*[]){0}));
  return 0;
}
