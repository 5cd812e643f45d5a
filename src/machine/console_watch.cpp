#include "machine/console_watch.h"

namespace vireo::machine {

void ConsoleWatch::on_byte(uint8_t byte) {
  if (!first_byte_ns_) first_byte_ns_ = clock_ns_();
  if (byte == '\r') return;
  if (byte != '\n') {
    if (line_.size() < kMaxLine) line_.push_back(char(byte));
    return;
  }
  static constexpr char kEnd[] = "---[ end Kernel panic - not syncing: ";
  size_t at = line_.find(kEnd);
  if (at != std::string::npos && !panic_) {
    std::string reason = line_.substr(at + sizeof kEnd - 1);
    if (size_t close = reason.rfind(" ]---"); close != std::string::npos) reason.resize(close);
    panic_ = reason;
  }
  line_.clear();
}

}  // namespace vireo::machine
