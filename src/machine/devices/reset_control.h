// ResetControl: the two reset lines a PC kernel pulls. Port 0xCF9 (the PIIX/ICH reset control
// register, the FADT's RESET_REG): a byte write with RST_CPU (bit 2) resets the machine. Port
// 0x64 (the 8042 keyboard controller's command port): command 0xFE pulses the CPU reset line.
// There is no keyboard controller otherwise: the FADT says so (no 8042), and status reads as
// all-ones, the "nothing there" that Linux's i8042 probe recognises.
// A 2- or 4-byte access at 0xCF8 belongs to PCI configuration (absent here), not to 0xCF9.
#pragma once

#include <cstdint>

#include "machine/devices/machine_request.h"
#include "machine/port_bus.h"

namespace vireo::machine {

class ResetControl : public PortDevice {
 public:
  explicit ResetControl(MachineRequest& request) : request_(request) {}
  const char* name() const override { return "reset-control"; }
  uint32_t read(uint16_t port, uint8_t size) override {
    if (port == 0xCF9 && size == 1) return cf9_;
    return all_ones(size);
  }
  void write(uint16_t port, uint8_t size, uint32_t value) override {
    if (port == 0xCF9 && size == 1) {
      cf9_ = uint8_t(value & 0x0A);  // SYS_RST and FULL_RST read back; RST_CPU is self-clearing
      if (value & 0x04) request_ = MachineRequest::Reset;
    } else if (port == 0x64 && size == 1 && (value & 0xFF) == 0xFE) {
      request_ = MachineRequest::Reset;
    }
  }

 private:
  MachineRequest& request_;
  uint8_t cf9_ = 0;
};

}  // namespace vireo::machine
