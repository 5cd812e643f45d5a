// PostCode: port 0x80, where firmware and kernels write progress codes and which Linux uses
// as an I/O delay. Claimed so that such writes are not reported as an unknown port.
#pragma once

#include "machine/port_bus.h"

namespace vireo::machine {

class PostCode : public PortDevice {
 public:
  const char* name() const override { return "post-code"; }
  uint32_t read(uint16_t, uint8_t size) override { return all_ones(size); }
  void write(uint16_t, uint8_t, uint32_t value) override { last_ = uint8_t(value); }
  uint8_t last() const { return last_; }

 private:
  uint8_t last_ = 0;
};

}  // namespace vireo::machine
