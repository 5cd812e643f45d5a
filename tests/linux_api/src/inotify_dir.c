/* inotify on a temporary directory: create, write, close, rename, delete and the watch's own
 * removal, read back as events with names; inotify on a missing path fails. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "api_test.h"

static void print_events(int fd) {
  char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
  long n = read(fd, buf, sizeof buf);
  if (n < 0) {
    printf("no events (%s)\n", strerror(errno));
    return;
  }
  for (char* p = buf; p < buf + n;) {
    struct inotify_event* e = (struct inotify_event*)p;
    static const struct { uint32_t bit; const char* name; } names[] = {
        {IN_CREATE, "CREATE"}, {IN_MODIFY, "MODIFY"}, {IN_CLOSE_WRITE, "CLOSE_WRITE"},
        {IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"}, {IN_DELETE, "DELETE"},
        {IN_DELETE_SELF, "DELETE_SELF"}, {IN_IGNORED, "IGNORED"}, {IN_ISDIR, "ISDIR"},
        {IN_OPEN, "OPEN"}};
    printf("  event:");
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
      if (e->mask & names[i].bit) printf(" %s", names[i].name);
    printf(" name '%s' cookie set %d\n", e->len ? e->name : "", e->cookie != 0);
    p += sizeof *e + e->len;
  }
}

int main(void) {
  time_bound(20);
  OK(mkdir("watched", 0755));
  int fd = (int)OK(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  int wd = (int)OK(inotify_add_watch(fd, "watched", IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVE |
                                                       IN_DELETE | IN_DELETE_SELF));
  printf("watch descriptor positive %d\n", wd > 0);
  FAILS_WITH(read(fd, (char[64]){0}, 64), EAGAIN);
  int f = (int)OK(open("watched/a.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644));
  OK(write(f, "data", 4));
  close(f);
  OK(rename("watched/a.txt", "watched/b.txt"));
  OK(mkdir("watched/sub", 0755));
  printf("after create, write, close, rename, mkdir:\n");
  print_events(fd);
  OK(unlink("watched/b.txt"));
  OK(rmdir("watched/sub"));
  OK(rmdir("watched"));
  printf("after removing everything:\n");
  print_events(fd);
  FAILS_WITH(inotify_add_watch(fd, "no-such-dir", IN_CREATE), ENOENT);
  FAILS_WITH(inotify_add_watch(fd, (const char*)8, IN_CREATE), EFAULT);
  FAILS_WITH(inotify_rm_watch(fd, wd), EINVAL); /* the watch went with the directory */
  close(fd);
  return finish("inotify_dir");
}
