// CmosRtc: the MC146818 real-time clock and CMOS RAM behind ports 0x70 (index, bit 7 = NMI
// mask) and 0x71 (data). Time registers read the host's UTC time (QEMU's default
// `-rtc base=utc`) in BCD or binary and 24- or 12-hour format as status register B selects;
// the CMOS bytes describing base and extended memory are filled in as a PC BIOS would.
// Not modelled: alarms and periodic/update interrupts (IRQ8), setting the clock.
#pragma once

#include <cstdint>

#include "machine/port_bus.h"

namespace vireo::machine {

class CmosRtc : public PortDevice {
 public:
  explicit CmosRtc(uint64_t ram_size);
  const char* name() const override { return "cmos-rtc"; }
  uint32_t read(uint16_t port, uint8_t size) override;
  void write(uint16_t port, uint8_t size, uint32_t value) override;

  // The battery-backed bytes a reset keeps (0x38-0x7F: beyond what the BIOS describes), so a
  // guest can leave a note for its next boot, as on a PC.
  static constexpr unsigned kNvramFirst = 0x38, kNvramCount = 128 - kNvramFirst;
  const uint8_t* nvram() const { return ram_ + kNvramFirst; }
  void restore_nvram(const uint8_t* bytes);

 private:
  uint8_t time_register(uint8_t index) const;
  uint8_t index_ = 0;
  uint8_t ram_[128] = {};
};

}  // namespace vireo::machine
