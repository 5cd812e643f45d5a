// ACPI tables for the board: the least a stock Linux kernel needs to find the power-off and
// reset controls on its own (ACPI 6.x, chapters 5.2 "ACPI System Description Tables" and 4.8
// "Fixed Hardware Registers"): RSDP in the BIOS area (found by the kernel's scan of
// 0xE0000-0xFFFFF, or through boot_params.acpi_rsdp_addr), RSDT and XSDT, a FADT naming the
// PM1a event/control blocks, the PM timer and the reset register (port 0xCF9), a FACS, and a
// DSDT whose only object is \_S5 (the sleep-type values for soft-off).
#pragma once

#include <cstdint>

#include "machine/guest_ram.h"

namespace vireo::machine {

// The fixed ACPI hardware of the board (devices/acpi_pm.h serves these ports).
namespace acpi_ports {
constexpr uint16_t kPm1aEvent = 0x600;    // PM1a_EVT_BLK: status (2 bytes), enable (2 bytes)
constexpr uint16_t kPm1aControl = 0x604;  // PM1a_CNT_BLK: 2 bytes
constexpr uint16_t kPmTimer = 0x608;      // PM_TMR_BLK: 24-bit counter at 3.579545 MHz
constexpr uint16_t kResetReg = 0xCF9;     // FADT RESET_REG, the PIIX/ICH reset control register
constexpr uint8_t kResetValue = 0x06;     // full reset (RST_CPU | SYS_RST)
constexpr uint8_t kSlpTypS5 = 5;          // the \_S5 package's PM1a value
constexpr uint8_t kSciIrq = 9;
}  // namespace acpi_ports

// The tables live in the reserved BIOS area below 1 MiB; RSDP is at the returned address.
constexpr uint64_t kAcpiTablesBase = 0xE0000;

// Writes the tables into `ram` and returns the RSDP's guest-physical address.
uint64_t build_acpi_tables(GuestRam& ram);

}  // namespace vireo::machine
