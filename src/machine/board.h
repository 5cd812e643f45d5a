// Board: the PC that system mode emulates — RAM plus the devices on the I/O port bus, wired
// to one another (UART and PIT to the PIC) and to the host (serial to stdout/stdin, timers to
// the host clock). Engine-agnostic: kvm, interp and jit all drive it through SystemBus.
//
// Port map: 0x20/0x21, 0xA0/0xA1, 0x4D0/0x4D1 PIC; 0x40-0x43, 0x61 PIT; 0x70/0x71 CMOS/RTC;
// 0x80 POST; 0xF4 isa-debug-exit; 0x3F8-0x3FF COM1 (IRQ4); 0x64 and 0xCF9 reset; 0x600-0x60B
// ACPI PM1a event/control and PM timer (the FADT's, loaders/acpi_tables.h).
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <unordered_set>

#include "machine/console_watch.h"
#include "machine/devices/acpi_pm.h"
#include "machine/devices/cmos_rtc.h"
#include "machine/devices/debug_exit.h"
#include "machine/devices/pic8259.h"
#include "machine/devices/pit8254.h"
#include "machine/devices/machine_request.h"
#include "machine/devices/post_code.h"
#include "machine/devices/reset_control.h"
#include "machine/devices/uart16550.h"
#include "machine/guest_ram.h"
#include "machine/port_bus.h"
#include "machine/system_bus.h"

namespace vireo::machine {

struct BoardConfig {
  uint64_t ram_size = 128ull << 20;
  int serial_in_fd = 0;           // host fd feeding COM1's receiver; -1 for none
  std::FILE* serial_out = stdout; // where COM1's transmitter writes
  std::FILE* report = stderr;     // one-line reports (unknown ports, MMIO)
  bool console_escape = false;    // Ctrl-A x on serial input quits, Ctrl-A Ctrl-A sends Ctrl-A
  const uint8_t* cmos_nvram = nullptr;  // CMOS bytes kept from before a reset (CmosRtc::nvram)
};

class Board : public SystemBus {
 public:
  explicit Board(const BoardConfig& cfg);

  GuestRam& ram() { return ram_; }
  const BoardConfig& config() const { return cfg_; }

  // SystemBus
  uint32_t port_in(uint16_t port, uint8_t size) override;
  void port_out(uint16_t port, uint8_t size, uint32_t value) override;
  uint64_t mmio_read(uint64_t gpa, uint8_t size) override;
  void mmio_write(uint64_t gpa, uint8_t size, uint64_t value) override;
  bool interrupt_pending() override;
  int acknowledge_interrupt() override { return pic_.acknowledge(); }
  bool stop_requested() const override {
    return debug_exit_.status().has_value() || request_ != MachineRequest::None || console_.panic().has_value();
  }

  // Brings timers and host input up to date and updates the interrupt lines.
  void advance();
  // The UART flushes its sink per line; a prompt without one ("/ # ") must still show up
  // promptly: the platform loop calls this at each timer tick (and the CPU's sleep does).
  void flush_console();
  // When the board next needs the CPU's attention without a guest access (a timer edge, or
  // host input to poll for an interrupt-driven receiver); nullopt when nothing is scheduled.
  std::optional<uint64_t> next_deadline_ns();
  // For a halted CPU with interrupts enabled: sleeps until an interrupt is pending. Returns
  // false when nothing could ever raise one (every source masked or idle).
  bool wait_for_interrupt();
  // Host time spent in wait_for_interrupt (the guest idle in HLT), for --stats.
  uint64_t halted_ns() const { return halted_ns_; }
  // Set once the guest has written the debug-exit port.
  std::optional<int> exit_status() const { return debug_exit_.status(); }
  // Set once the guest has powered the machine off or reset it.
  MachineRequest request() const { return request_; }
  // The serial console as the machine watched it (first byte, a Linux panic).
  const ConsoleWatch& console() const { return console_; }
  const CmosRtc& cmos() const { return rtc_; }

 private:
  void poll_input(uint64_t now, int timeout_ms);
  size_t filter_escapes(uint8_t* buf, size_t n);
  void update_irqs();

  BoardConfig cfg_;
  GuestRam ram_;
  PortBus bus_;
  ConsoleWatch console_;
  Pic8259 pic_;
  Pit8254 pit_;
  Uart16550 uart_;
  CmosRtc rtc_;
  DebugExit debug_exit_;
  MachineRequest request_ = MachineRequest::None;
  AcpiPm acpi_pm_;
  ResetControl reset_;
  PostCode post_;
  int input_fd_;
  uint64_t last_input_poll_ns_ = 0;
  uint64_t halted_ns_ = 0;
  bool escape_pending_ = false;  // the last input byte was Ctrl-A
  std::unordered_set<uint64_t> reported_mmio_;
};

}  // namespace vireo::machine
