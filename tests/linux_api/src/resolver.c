/* Name and interface look-ups as libc does them: getaddrinfo("localhost") (files), getnameinfo
 * on numeric addresses, getifaddrs and if_nametoindex (netlink), and the SIOCGIF* ioctls on the
 * loopback interface. Only the loopback interface is printed, so the output is the same on any
 * machine with the usual /etc/hosts. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "api_test.h"

static const char* family_name(int f) {
  return f == AF_INET ? "inet" : f == AF_INET6 ? "inet6" : f == AF_PACKET ? "packet" : "other";
}

int main(void) {
  time_bound(20);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
  int r = getaddrinfo("localhost", "8080", &hints, &res);
  if (r != 0) {
    printf("getaddrinfo: %s\n", gai_strerror(r));
    check_failures++;
  } else {
    int v4 = 0;
    for (struct addrinfo* i = res; i; i = i->ai_next) {
      char host[NI_MAXHOST], serv[NI_MAXSERV];
      OK(-(getnameinfo(i->ai_addr, i->ai_addrlen, host, sizeof host, serv, sizeof serv,
                       NI_NUMERICHOST | NI_NUMERICSERV) != 0));
      v4 |= i->ai_family == AF_INET && strcmp(host, "127.0.0.1") == 0;
      CHECK(strcmp(serv, "8080") == 0);
    }
    printf("getaddrinfo(localhost): 127.0.0.1 among the answers %d\n", v4);
    freeaddrinfo(res);
  }
  hints.ai_flags = AI_NUMERICHOST;
  r = getaddrinfo("::1", NULL, &hints, &res);
  printf("getaddrinfo(::1, numeric): %s\n", r == 0 ? family_name(res->ai_family) : gai_strerror(r));
  if (r == 0) freeaddrinfo(res);

  struct ifaddrs* ifs;
  if (OK(getifaddrs(&ifs)) == 0) {
    for (struct ifaddrs* i = ifs; i; i = i->ifa_next) {
      if (strcmp(i->ifa_name, "lo") != 0 || !i->ifa_addr) continue;
      int f = i->ifa_addr->sa_family;
      char text[64] = "";
      if (f == AF_INET) inet_ntop(f, &((struct sockaddr_in*)i->ifa_addr)->sin_addr, text, sizeof text);
      if (f == AF_INET6) inet_ntop(f, &((struct sockaddr_in6*)i->ifa_addr)->sin6_addr, text, sizeof text);
      printf("getifaddrs: lo %s %s up %d loopback %d\n", family_name(f), text,
             (i->ifa_flags & IFF_UP) != 0, (i->ifa_flags & IFF_LOOPBACK) != 0);
    }
    freeifaddrs(ifs);
  }
  unsigned idx = if_nametoindex("lo");
  char name[IF_NAMESIZE] = "";
  printf("if_nametoindex(lo) found %d, back to name '%s'\n", idx != 0, if_indextoname(idx, name));

  int s = (int)OK(socket(AF_INET, SOCK_DGRAM, 0));
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  OK(ioctl(s, SIOCGIFFLAGS, &ifr));
  printf("SIOCGIFFLAGS lo: up %d loopback %d\n", (ifr.ifr_flags & IFF_UP) != 0, (ifr.ifr_flags & IFF_LOOPBACK) != 0);
  OK(ioctl(s, SIOCGIFADDR, &ifr));
  printf("SIOCGIFADDR lo: %s\n", inet_ntoa(((struct sockaddr_in*)&ifr.ifr_addr)->sin_addr));
  OK(ioctl(s, SIOCGIFINDEX, &ifr));
  CHECK((unsigned)ifr.ifr_ifindex == idx);
  OK(ioctl(s, SIOCGIFMTU, &ifr));
  printf("SIOCGIFMTU lo: positive %d\n", ifr.ifr_mtu > 0);
  struct ifreq reqs[32];
  struct ifconf conf = {.ifc_len = sizeof reqs, .ifc_req = reqs};
  OK(ioctl(s, SIOCGIFCONF, &conf));
  int found = 0;
  for (int i = 0; i < conf.ifc_len / (int)sizeof(struct ifreq); i++) found |= strcmp(reqs[i].ifr_name, "lo") == 0;
  printf("SIOCGIFCONF: whole records %d, lo listed %d\n", conf.ifc_len % (int)sizeof(struct ifreq) == 0, found);
  conf.ifc_req = (struct ifreq*)8;
  FAILS_WITH(ioctl(s, SIOCGIFCONF, &conf), EFAULT);
  int pending = -1;
  OK(ioctl(s, FIONREAD, &pending));
  printf("FIONREAD on an empty socket: %d\n", pending);
  strcpy(ifr.ifr_name, "no-such-if0");
  FAILS_WITH(ioctl(s, SIOCGIFFLAGS, &ifr), ENODEV);
  FAILS_WITH(ioctl(0, TIOCGWINSZ, &ifr), ENOTTY);
  return finish("resolver");
}
