#include "support/diag_stream.h"

#include <fcntl.h>
#include <unistd.h>

namespace vireo {

namespace {
// Above what programs open (RLIMIT_NOFILE's usual soft limit is 1024) and apart from the fork
// hold pipe's 900 (linux/syscalls/process.cpp).
constexpr int kHighFd = 960;

// Not close-on-exec: an execve that replaces the image in place closes the close-on-exec
// descriptors, all of which are the guest's (linux/exec_in_place.cpp); a host re-exec marks
// these first (diag_fds_close_on_exec).
int own_fds[3] = {-1, -1, -1};  // the --strace and -d stream, -D, --perfmap

int dup_high(int fd) {
  int high = ::fcntl(fd, F_DUPFD, kHighFd);
  for (int& own : own_fds)
    if (high >= 0 && own < 0) {
      own = high;
      break;
    }
  return high;
}
}  // namespace

std::FILE* diag_stream() {
  static std::FILE* stream = [] {
    int fd = dup_high(2);
    std::FILE* f = fd >= 0 ? ::fdopen(fd, "w") : nullptr;
    if (!f) {
      if (fd >= 0) ::close(fd);
      return stderr;
    }
    // Unbuffered as stderr is: each line is one write, in order with the guest's own output,
    // and nothing is left in a buffer for fork to copy.
    std::setvbuf(f, nullptr, _IONBF, 0);
    return f;
  }();
  return stream;
}

std::FILE* keep_fd_high(std::FILE* f) {
  int fd = dup_high(::fileno(f));
  std::FILE* high = fd >= 0 ? ::fdopen(fd, "w") : nullptr;
  if (!high) {
    if (fd >= 0) ::close(fd);
    return f;
  }
  std::fclose(f);  // frees the low fd (nothing was written through it yet)
  return high;
}

void diag_fds_close_on_exec(bool on) {
  for (int fd : own_fds)
    if (fd >= 0) ::fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0);
}

void diag_write(std::FILE* f, std::string_view text) {
  if (!text.empty()) (void)std::fwrite(text.data(), 1, text.size(), f);
}

}  // namespace vireo
