/* AF_UNIX sockets: a stream socket on a path and on an abstract name with a forked client,
 * datagram socketpairs, fd passing with SCM_RIGHTS, credentials with SCM_CREDENTIALS and
 * SO_PEERCRED. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "api_test.h"

static void stream_server(const char* label, struct sockaddr_un* a, socklen_t len) {
  int srv = (int)OK(socket(AF_UNIX, SOCK_STREAM, 0));
  if (OK(bind(srv, (struct sockaddr*)a, len)) < 0) return;
  OK(listen(srv, 1));
  struct sockaddr_un got;
  socklen_t gl = sizeof got;
  OK(getsockname(srv, (struct sockaddr*)&got, &gl));
  printf("%s: bound, name length matches %d\n", label, gl == len && memcmp(&got, a, len) == 0);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr*)a, len) < 0) _exit(10);
    char line[64];
    long n = read(c, line, sizeof line);
    if (n <= 0) _exit(11);
    for (long i = 0; i < n / 2; i++) { /* reversed */
      char t = line[i];
      line[i] = line[n - 1 - i];
      line[n - 1 - i] = t;
    }
    if (write_all(c, line, (size_t)n) < 0) _exit(12);
    _exit(0);
  }
  int c = (int)OK(accept(srv, NULL, NULL));
  struct ucred cred;
  socklen_t cl = sizeof cred;
  OK(getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &cl));
  printf("%s: SO_PEERCRED names the client %d, our uid %d\n", label, cred.pid == pid,
         cred.uid == getuid());
  OK(write_all(c, "hello unix", 10));
  char back[16] = {0};
  printf("%s: %ld bytes back: '%.10s'\n", label, read_all(c, back, 10), back);
  int status;
  OK(waitpid(pid, &status, 0));
  printf("%s: client status %d\n", label, WEXITSTATUS(status));
  close(c);
  close(srv);
}

/* Sends `n` fds with SCM_RIGHTS (and our credentials) over `s`. */
static void send_fds(int s, const int* fds, int n) {
  union { char b[CMSG_SPACE(sizeof(int) * 4) + CMSG_SPACE(sizeof(struct ucred))]; struct cmsghdr a; } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct iovec v = {"fds", 3};
  struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl.b,
                     .msg_controllen = CMSG_SPACE(sizeof(int) * n) + CMSG_SPACE(sizeof(struct ucred))};
  struct cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * n);
  memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
  c = CMSG_NXTHDR(&m, c);
  struct ucred me = {getpid(), getuid(), getgid()};
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_CREDENTIALS;
  c->cmsg_len = CMSG_LEN(sizeof me);
  memcpy(CMSG_DATA(c), &me, sizeof me);
  printf("sendmsg with SCM_RIGHTS x%d: %ld\n", n, (long)OK(sendmsg(s, &m, 0)));
}

static void fd_passing(void) {
  int sv[2];
  OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
  int on = 1;
  OK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
  int p[2];
  OK(pipe(p));
  OK(write_all(p[1], "through the pipe", 16));
  int f = (int)OK(open("passed.txt", O_RDWR | O_CREAT | O_TRUNC, 0644));
  OK(write_all(f, "file contents", 13));
  int fds[2] = {p[0], f};
  send_fds(sv[0], fds, 2);
  close(p[0]);
  close(f);

  char data[8];
  union { char b[256]; struct cmsghdr a; } ctl;
  struct iovec v = {data, sizeof data};
  struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof ctl.b};
  long n = OK(recvmsg(sv[1], &m, MSG_CMSG_CLOEXEC));
  printf("recvmsg %ld '%.3s', flags %#x\n", n, data, m.msg_flags);
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int got[4];
      int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      memcpy(got, CMSG_DATA(c), sizeof(int) * count);
      printf("SCM_RIGHTS: %d fds\n", count);
      char buf[32] = {0};
      long r = read(got[0], buf, sizeof buf - 1);
      printf("  fd 0 reads '%.*s', close-on-exec %d\n", (int)r, buf, (fcntl(got[0], F_GETFD) & FD_CLOEXEC) != 0);
      memset(buf, 0, sizeof buf);
      r = pread(got[1], buf, sizeof buf - 1, 0);
      printf("  fd 1 reads '%.*s', offset shared %d\n", (int)r, buf, lseek(got[1], 0, SEEK_CUR) == 13);
      close(got[0]);
      close(got[1]);
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
      struct ucred uc;
      memcpy(&uc, CMSG_DATA(c), sizeof uc);
      printf("SCM_CREDENTIALS: pid is ours %d, uid %d, gid %d\n", uc.pid == getpid(), uc.uid == getuid(),
             uc.gid == getgid());
    } else {
      printf("unexpected control message %d/%d\n", c->cmsg_level, c->cmsg_type);
    }
  }
  /* A control buffer too small for the fds: MSG_CTRUNC. */
  send_fds(sv[0], &p[1], 1);
  char small[CMSG_SPACE(0)];
  m.msg_control = small;
  m.msg_controllen = sizeof small;
  n = OK(recvmsg(sv[1], &m, 0));
  printf("small control buffer: %ld bytes, MSG_CTRUNC %d\n", n, (m.msg_flags & MSG_CTRUNC) != 0);
  close(p[1]);
  close(sv[0]);
  close(sv[1]);
  unlink("passed.txt");
}

static void datagrams(void) {
  int sv[2];
  OK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
  OK(send(sv[0], "first", 5, 0));
  OK(send(sv[0], "second record", 13, 0));
  char b[64];
  long n1 = OK(recv(sv[1], b, sizeof b, 0));
  long n2 = OK(recv(sv[1], b, sizeof b, 0));
  printf("seqpacket records %ld and %ld bytes\n", n1, n2);
  OK(shutdown(sv[0], SHUT_WR));
  printf("after shutdown: recv %ld\n", (long)recv(sv[1], b, sizeof b, 0));
  close(sv[0]);
  close(sv[1]);
  int d = (int)OK(socket(AF_UNIX, SOCK_DGRAM, 0));
  struct sockaddr_un a = {.sun_family = AF_UNIX, .sun_path = "dgram.sock"};
  OK(bind(d, (struct sockaddr*)&a, sizeof a));
  int c = (int)OK(socket(AF_UNIX, SOCK_DGRAM, 0));
  OK(sendto(c, "to a path", 9, 0, (struct sockaddr*)&a, sizeof a));
  struct sockaddr_un from;
  socklen_t fl = sizeof from;
  long n = OK(recvfrom(d, b, sizeof b, 0, (struct sockaddr*)&from, &fl));
  printf("datagram %ld '%.*s', sender address length %d\n", n, (int)n, b, (int)fl);
  close(c);
  close(d);
  unlink("dgram.sock");
}

int main(void) {
  time_bound(20);
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX, .sun_path = "stream.sock"};
  stream_server("path", &a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(a.sun_path) + 1));
  unlink("stream.sock");
  /* An abstract name: no file, the name starts with a NUL byte. */
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  int len = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "vireo-unix-test-%d", (int)getpid());
  stream_server("abstract", &a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len));
  fd_passing();
  datagrams();
  return finish("unix_sockets");
}
