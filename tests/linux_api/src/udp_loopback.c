/* UDP over loopback (IPv4 and IPv6): sendto/recvfrom, connected send/recv, MSG_PEEK and
 * MSG_TRUNC, sendmmsg/recvmmsg batches, recvmsg with an IP_PKTINFO control message, and
 * non-blocking receives. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "api_test.h"

static socklen_t loopback(int family, struct sockaddr_storage* ss) {
  memset(ss, 0, sizeof *ss);
  if (family == AF_INET) {
    struct sockaddr_in* a = (struct sockaddr_in*)ss;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof *a;
  }
  struct sockaddr_in6* a = (struct sockaddr_in6*)ss;
  a->sin6_family = AF_INET6;
  a->sin6_addr = in6addr_loopback;
  return sizeof *a;
}

static void run(int family, const char* name) {
  int rx = socket(family, SOCK_DGRAM, 0), tx = socket(family, SOCK_DGRAM, 0);
  struct sockaddr_storage ra, ta;
  socklen_t len = loopback(family, &ra);
  loopback(family, &ta);
  if (rx < 0 || bind(rx, (struct sockaddr*)&ra, len) < 0 || bind(tx, (struct sockaddr*)&ta, len) < 0) {
    printf("%s: no loopback (%s)\n", name, strerror(errno));
    return;
  }
  socklen_t l = sizeof ra;
  OK(getsockname(rx, (struct sockaddr*)&ra, &l));
  l = sizeof ta;
  OK(getsockname(tx, (struct sockaddr*)&ta, &l));

  /* sendto / recvfrom, with the sender's address. */
  const char msg[] = "datagram one";
  printf("%s: sendto %ld\n", name, (long)OK(sendto(tx, msg, sizeof msg, 0, (struct sockaddr*)&ra, len)));
  char buf[256];
  struct sockaddr_storage from;
  socklen_t fl = sizeof from;
  long n = OK(recvfrom(rx, buf, sizeof buf, MSG_PEEK, (struct sockaddr*)&from, &fl));
  printf("%s: peek %ld '%s'\n", name, n, buf);
  n = OK(recvfrom(rx, buf, 4, MSG_TRUNC, (struct sockaddr*)&from, &fl));
  printf("%s: truncated receive reports %ld, from the sender %d\n", name, n,
         fl == len && memcmp(&from, &ta, len) == 0);
  FAILS_WITH(recv(rx, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);

  /* Connected sockets: send/recv without addresses. */
  OK(connect(tx, (struct sockaddr*)&ra, len));
  OK(send(tx, "connected", 9, 0));
  n = OK(recv(rx, buf, sizeof buf, 0));
  printf("%s: recv %ld '%.*s'\n", name, n, (int)n, buf);

  /* A batch of five datagrams each way through the mmsg calls, scatter/gather in each. */
  struct mmsghdr mm[5];
  struct iovec iov[5][2];
  char parts[5][2][16];
  for (int i = 0; i < 5; i++) {
    snprintf(parts[i][0], 16, "batch-%d", i);
    snprintf(parts[i][1], 16, "/part-two");
    iov[i][0] = (struct iovec){parts[i][0], strlen(parts[i][0])};
    iov[i][1] = (struct iovec){parts[i][1], strlen(parts[i][1])};
    memset(&mm[i], 0, sizeof mm[i]);
    mm[i].msg_hdr.msg_iov = iov[i];
    mm[i].msg_hdr.msg_iovlen = 2;
  }
  n = OK(sendmmsg(tx, mm, 5, 0));
  printf("%s: sendmmsg %ld, lengths %u %u\n", name, n, mm[0].msg_len, mm[4].msg_len);
  char in[5][32];
  struct iovec riov[5];
  struct sockaddr_storage rfrom[5];
  for (int i = 0; i < 5; i++) {
    riov[i] = (struct iovec){in[i], sizeof in[i]};
    memset(&mm[i], 0, sizeof mm[i]);
    mm[i].msg_hdr.msg_iov = &riov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
    mm[i].msg_hdr.msg_name = &rfrom[i];
    mm[i].msg_hdr.msg_namelen = sizeof rfrom[i];
  }
  struct timespec t = {5, 0};
  n = OK(recvmmsg(rx, mm, 5, MSG_WAITFORONE, &t));
  long total = n;
  while (total < 5 && n > 0) {
    n = OK(recvmmsg(rx, mm + total, 5 - (unsigned)total, 0, &t));
    if (n > 0) total += n;
  }
  for (int i = 0; i < total; i++)
    printf("%s: recvmmsg[%d] %u '%.*s' namelen ok %d\n", name, i, mm[i].msg_len, (int)mm[i].msg_len,
           in[i], mm[i].msg_hdr.msg_namelen == len);

  /* recvmsg with the destination address as a control message. */
  int on = 1;
  if (family == AF_INET) OK(setsockopt(rx, IPPROTO_IP, IP_PKTINFO, &on, sizeof on));
  else OK(setsockopt(rx, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on));
  OK(send(tx, "with pktinfo", 12, 0));
  union { char b[256]; struct cmsghdr align; } ctl;
  struct iovec v = {buf, sizeof buf};
  struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &v, .msg_iovlen = 1,
                      .msg_control = ctl.b, .msg_controllen = sizeof ctl.b};
  n = OK(recvmsg(rx, &mh, 0));
  printf("%s: recvmsg %ld '%.*s' flags %#x\n", name, n, (int)n, buf, mh.msg_flags);
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    char text[64] = "?";
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      inet_ntop(AF_INET, &pi.ipi_addr, text, sizeof text);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      inet_ntop(AF_INET6, &pi.ipi6_addr, text, sizeof text);
    }
    printf("%s: control message level %d type %d: destination %s\n", name, c->cmsg_level,
           c->cmsg_type, text);
  }
  /* Bad pointers inside a msghdr are EFAULT. */
  struct iovec bad = {(void*)8, 4};
  struct msghdr bm = {.msg_iov = &bad, .msg_iovlen = 1};
  FAILS_WITH(sendmsg(tx, &bm, 0), EFAULT);
  bm.msg_iov = (struct iovec*)8;
  FAILS_WITH(sendmsg(tx, &bm, 0), EFAULT);
  /* (musl's recvmsg copies the msghdr itself, so the bad one goes in through syscall()) */
  FAILS_WITH(syscall(SYS_recvmsg, rx, 8L, (long)MSG_DONTWAIT), EFAULT);
  close(rx);
  close(tx);
}

int main(void) {
  time_bound(20);
  run(AF_INET, "ipv4");
  run(AF_INET6, "ipv6");
  return finish("udp_loopback");
}
