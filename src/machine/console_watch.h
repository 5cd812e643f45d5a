// ConsoleWatch: what the machine learns from the guest's serial console, byte by byte as COM1
// transmits it: when the first byte came (for --stats), and whether a Linux kernel panicked.
//
// A stock kernel (CONFIG_PANIC_TIMEOUT=0, no panic= on its command line) ends panic() by
// printing "---[ end Kernel panic - not syncing: REASON ]---" and spinning forever in mdelay()
// with interrupts on: the CPU never halts, so nothing else tells the machine. That line is the
// kernel's last word (kernel/panic.c), so Vireo stops there with the reason.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace vireo::machine {

class ConsoleWatch {
 public:
  explicit ConsoleWatch(uint64_t (*clock_ns)()) : clock_ns_(clock_ns) {}
  void on_byte(uint8_t byte);

  std::optional<uint64_t> first_byte_ns() const { return first_byte_ns_; }
  // The panic's reason once the kernel has printed the end-of-panic line.
  const std::optional<std::string>& panic() const { return panic_; }

 private:
  static constexpr size_t kMaxLine = 1024;
  uint64_t (*clock_ns_)();
  std::optional<uint64_t> first_byte_ns_;
  std::optional<std::string> panic_;
  std::string line_;
};

}  // namespace vireo::machine
