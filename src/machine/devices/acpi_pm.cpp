#include "machine/devices/acpi_pm.h"

#include "machine/loaders/acpi_tables.h"

namespace vireo::machine {

namespace {
constexpr uint16_t kSciEn = 1u << 0;
constexpr uint16_t kSlpEn = 1u << 13;
constexpr unsigned kSlpTypShift = 10;

// Sub-register access: the byte lanes of `reg` that a `size`-byte access at `offset` covers.
uint32_t lanes(uint32_t reg, unsigned offset, uint8_t size) {
  return (reg >> (offset * 8)) & all_ones(size);
}
}  // namespace

uint32_t AcpiPm::read(uint16_t port, uint8_t size) {
  using namespace acpi_ports;
  if (port >= kPmTimer && port < kPmTimer + 4) {
    // A free-running 24-bit counter (TMR_VAL_EXT is clear in the FADT).
    uint64_t ticks = uint64_t(__int128(clock_ns_()) * kTimerHz / 1000000000);
    return lanes(uint32_t(ticks & 0xFFFFFF), port - kPmTimer, size);
  }
  if (port >= kPm1aControl && port < kPm1aControl + 2) return lanes(control_, port - kPm1aControl, size);
  uint32_t evt = uint32_t(status_) | uint32_t(enable_) << 16;
  return lanes(evt, port - kPm1aEvent, size);
}

void AcpiPm::write(uint16_t port, uint8_t size, uint32_t value) {
  using namespace acpi_ports;
  if (port >= kPmTimer && port < kPmTimer + 4) return;  // read-only
  if (port >= kPm1aControl && port < kPm1aControl + 2) {
    uint32_t shift = (port - kPm1aControl) * 8;
    uint32_t mask = all_ones(size) << shift;
    uint16_t v = uint16_t((control_ & ~mask) | ((value << shift) & mask));
    control_ = uint16_t((v & ~kSlpEn) | kSciEn);
    if ((v & kSlpEn) && ((v >> kSlpTypShift) & 7) == kSlpTypS5) request_ = MachineRequest::PowerOff;
    return;
  }
  uint32_t shift = (port - kPm1aEvent) * 8;
  uint32_t v = (value & all_ones(size)) << shift;
  uint32_t mask = all_ones(size) << shift;
  status_ = uint16_t(status_ & ~(v & 0xFFFF));  // status bits are write-1-to-clear
  enable_ = uint16_t((enable_ & ~(mask >> 16)) | ((v >> 16) & (mask >> 16)));
}

}  // namespace vireo::machine
