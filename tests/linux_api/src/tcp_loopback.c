#define _GNU_SOURCE
/* TCP over loopback, IPv4 and IPv6: a forked client sends 4 MiB of generated data, the server
 * answers with its checksum and then streams 2 MiB back; socket options, names, shutdown and
 * the errors of calls on a non-socket. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "api_test.h"

enum { UP = 4 << 20, DOWN = 2 << 20, CHUNK = 65536 };

static void fill(unsigned char* b, size_t n, uint64_t seed) {
  rng_seed(seed);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng_next();
    memcpy(b + i, &v, n - i < 8 ? n - i : 8);
  }
}

/* The client side, in the child: connect, send UP bytes, half-close, read the checksum and the
 * DOWN bytes back. Exit status 0 when everything matched. */
static int client(int family, const struct sockaddr* addr, socklen_t len) {
  int s = socket(family, SOCK_STREAM, 0);
  if (s < 0 || connect(s, addr, len) < 0) return 10;
  int one = 1;
  if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) return 11;
  static unsigned char up[UP], down[DOWN];
  fill(up, UP, 1);
  for (size_t off = 0; off < UP; off += CHUNK)
    if (send(s, up + off, CHUNK, 0) != CHUNK) return 12;
  if (shutdown(s, SHUT_WR) < 0) return 13;
  uint64_t sum;
  if (read_all(s, &sum, 8) != 8 || sum != fnv1a(up, UP)) return 14;
  if (read_all(s, down, DOWN) != DOWN) return 15;
  unsigned char extra;
  if (recv(s, &extra, 1, 0) != 0) return 16; /* the server closed: end of stream */
  fill(up, DOWN, 2);
  if (memcmp(up, down, DOWN) != 0) return 17;
  close(s);
  return 0;
}

static void run(int family, const char* name) {
  int srv = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (srv < 0) {
    printf("%s: no socket (%s)\n", name, strerror(errno));
    return;
  }
  int one = 1;
  OK(setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  if (family == AF_INET) {
    struct sockaddr_in* a = (struct sockaddr_in*)&ss;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a;
  } else {
    struct sockaddr_in6* a = (struct sockaddr_in6*)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    len = sizeof *a;
  }
  if (bind(srv, (struct sockaddr*)&ss, len) < 0) {
    printf("%s: no loopback address (%s)\n", name, strerror(errno));
    close(srv);
    return;
  }
  OK(listen(srv, 4));
  socklen_t got = sizeof ss;
  OK(getsockname(srv, (struct sockaddr*)&ss, &got));
  CHECK(got == len);
  char text[64];
  const void* ip = family == AF_INET ? (void*)&((struct sockaddr_in*)&ss)->sin_addr
                                     : (void*)&((struct sockaddr_in6*)&ss)->sin6_addr;
  printf("%s: listening on %s, port assigned: %s\n", name,
         inet_ntop(family, ip, text, sizeof text),
         ((struct sockaddr_in*)&ss)->sin_port ? "yes" : "no");
  int type = 0;
  got = sizeof type;
  OK(getsockopt(srv, SOL_SOCKET, SO_TYPE, &type, &got));
  int acc = 0;
  got = sizeof acc;
  OK(getsockopt(srv, SOL_SOCKET, SO_ACCEPTCONN, &acc, &got));
  printf("%s: SO_TYPE stream %d, SO_ACCEPTCONN %d, optlen %d\n", name, type == SOCK_STREAM, acc,
         (int)got);

  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) _exit(client(family, (struct sockaddr*)&ss, len));

  struct sockaddr_storage peer;
  socklen_t plen = sizeof peer;
  int c = (int)OK(accept4(srv, (struct sockaddr*)&peer, &plen, SOCK_CLOEXEC));
  printf("%s: accepted, peer family ok %d, same length %d\n", name, peer.ss_family == family,
         plen == len);
  struct sockaddr_storage pn;
  socklen_t pnl = sizeof pn;
  OK(getpeername(c, (struct sockaddr*)&pn, &pnl));
  CHECK(pnl == plen && memcmp(&pn, &peer, plen) == 0);
  int nodelay = -1;
  got = sizeof nodelay;
  OK(getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &nodelay, &got));

  static unsigned char buf[UP];
  long n = read_all(c, buf, UP);
  unsigned char more;
  printf("%s: server received %ld bytes, then end of stream %d\n", name, n, read(c, &more, 1) == 0);
  uint64_t sum = fnv1a(buf, (size_t)n);
  OK(write_all(c, &sum, 8));
  fill(buf, DOWN, 2);
  OK(write_all(c, buf, DOWN));
  int pending = -1;
  OK(ioctl(c, FIONREAD, &pending));
  CHECK(pending == 0);
  close(c);
  int status;
  OK(waitpid(pid, &status, 0));
  printf("%s: client exit status %d\n", name, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  close(srv);
}

int main(void) {
  time_bound(40);
  setvbuf(stdout, NULL, _IOLBF, 0);
  run(AF_INET, "ipv4");
  run(AF_INET6, "ipv6");

  /* Socket calls on fds that are not sockets. */
  int p[2];
  OK(pipe(p));
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  FAILS_WITH(getpeername(p[0], (struct sockaddr*)&ss, &len), ENOTSOCK);
  FAILS_WITH(getsockname(p[1], (struct sockaddr*)&ss, &len), ENOTSOCK);
  FAILS_WITH(shutdown(p[0], SHUT_RD), ENOTSOCK);
  FAILS_WITH(listen(99, 1), EBADF);
  /* A connection nobody accepts. */
  int s = (int)OK(socket(AF_INET, SOCK_STREAM, 0));
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  OK(bind(s, (struct sockaddr*)&a, sizeof a));
  len = sizeof a;
  OK(getsockname(s, (struct sockaddr*)&a, &len));
  close(s);
  s = (int)OK(socket(AF_INET, SOCK_STREAM, 0));
  FAILS_WITH(connect(s, (struct sockaddr*)&a, sizeof a), ECONNREFUSED);
  /* Bad pointers are EFAULT, not a crash. */
  len = sizeof ss;
  FAILS_WITH(getsockname(s, (struct sockaddr*)8, &len), EFAULT);
  FAILS_WITH(getsockname(s, (struct sockaddr*)&ss, (socklen_t*)8), EFAULT);
  FAILS_WITH(send(s, (void*)8, 10, MSG_NOSIGNAL), EPIPE);
  close(s);
  return finish("tcp_loopback");
}
