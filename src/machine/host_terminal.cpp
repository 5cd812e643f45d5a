#include "machine/host_terminal.h"

#include <unistd.h>

namespace vireo::machine {

HostTerminal::HostTerminal(int fd) : fd_(fd) {
  if (!isatty(fd) || tcgetattr(fd, &saved_) != 0) return;
  termios raw = saved_;
  cfmakeraw(&raw);
  raw.c_oflag = saved_.c_oflag;  // keep output processing: the guest's "\n" still returns the carriage
  if (tcsetattr(fd, TCSANOW, &raw) == 0) raw_ = true;
}

HostTerminal::~HostTerminal() {
  if (raw_) tcsetattr(fd_, TCSANOW, &saved_);
}

}  // namespace vireo::machine
