#include "machine/port_bus.h"

#include <fmt/format.h>

namespace vireo::machine {

void PortBus::map(uint16_t first, uint32_t count, PortDevice* dev) {
  for (uint32_t p = first; p < uint32_t(first) + count && p < 65536; ++p) devices_[p] = dev;
}

uint32_t PortBus::in(uint16_t port, uint8_t size) {
  if (PortDevice* d = devices_[port]) return d->read(port, size) & all_ones(size);
  report_unknown(port, size, true, 0);
  return all_ones(size);
}

void PortBus::out(uint16_t port, uint8_t size, uint32_t value) {
  if (PortDevice* d = devices_[port]) return d->write(port, size, value & all_ones(size));
  report_unknown(port, size, false, value);
}

void PortBus::report_unknown(uint16_t port, uint8_t size, bool is_in, uint32_t value) {
  if (reported_[port]) return;
  reported_[port] = true;
  if (!report_) return;
  if (is_in)
    fmt::print(report_, "vireo: unknown I/O port {:#06x} (in, {} byte{}): reads as all-ones\n", port, size, size > 1 ? "s" : "");
  else
    fmt::print(report_, "vireo: unknown I/O port {:#06x} (out {:#x}, {} byte{}): ignored\n", port, value, size, size > 1 ? "s" : "");
  std::fflush(report_);
}

}  // namespace vireo::machine
