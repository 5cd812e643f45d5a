// DebugExit: QEMU's isa-debug-exit device (at 0xF4 here, as `-device isa-debug-exit,
// iobase=0xf4,iosize=0x04`). A write of v asks the machine to stop with exit status
// (v << 1) | 1, so guests written for QEMU report their result unchanged.
#pragma once

#include <optional>

#include "machine/port_bus.h"

namespace vireo::machine {

class DebugExit : public PortDevice {
 public:
  const char* name() const override { return "isa-debug-exit"; }
  uint32_t read(uint16_t, uint8_t) override { return 0; }
  void write(uint16_t, uint8_t, uint32_t value) override {
    if (!status_) status_ = int(((value << 1) | 1) & 0xFF);  // an exit status is one byte
  }
  const std::optional<int>& status() const { return status_; }

 private:
  std::optional<int> status_;
};

}  // namespace vireo::machine
