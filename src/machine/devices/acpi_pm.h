// AcpiPm: the ACPI fixed hardware registers the FADT names (loaders/acpi_tables.h):
// PM1a event block (PM1_STS, PM1_EN), PM1a control block (SCI_EN, SLP_TYP, SLP_EN) and the PM
// timer. Writing SLP_EN with the \_S5 sleep type is soft-off, which is how a stock kernel
// powers the machine off (ACPI 6.x, 4.8.3 and 16.1.7). The machine is always in ACPI mode
// (SCI_EN reads 1; SMI_CMD is 0 in the FADT). Nothing here raises the SCI.
#pragma once

#include <cstdint>

#include "machine/devices/machine_request.h"
#include "machine/port_bus.h"

namespace vireo::machine {

class AcpiPm : public PortDevice {
 public:
  static constexpr uint64_t kTimerHz = 3579545;

  AcpiPm(MachineRequest& request, uint64_t (*clock_ns)()) : request_(request), clock_ns_(clock_ns) {}
  const char* name() const override { return "acpi-pm"; }
  uint32_t read(uint16_t port, uint8_t size) override;
  void write(uint16_t port, uint8_t size, uint32_t value) override;

 private:
  MachineRequest& request_;
  uint64_t (*clock_ns_)();
  uint16_t status_ = 0, enable_ = 0;
  uint16_t control_ = 1;  // SCI_EN
};

}  // namespace vireo::machine
