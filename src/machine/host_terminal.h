// HostTerminal: while the guest owns the console, a terminal on stdin is put in raw mode
// (no echo, no line editing, no signals from Ctrl-C/Ctrl-Z: those bytes go to the guest, as
// with QEMU's -nographic) and restored when this object goes away. Not a terminal: nothing
// changes.
#pragma once

#include <termios.h>

namespace vireo::machine {

class HostTerminal {
 public:
  explicit HostTerminal(int fd);
  ~HostTerminal();
  HostTerminal(const HostTerminal&) = delete;
  HostTerminal& operator=(const HostTerminal&) = delete;
  bool is_terminal() const { return raw_; }

 private:
  int fd_;
  bool raw_ = false;
  termios saved_{};
};

}  // namespace vireo::machine
