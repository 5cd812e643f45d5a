// Pit8254: the 8254 programmable interval timer (ports 0x40-0x43) and the port 0x61 bits that
// gate channel 2 and show its output. Counters run from host time at the PC's 1.193182 MHz, so
// a guest sees real elapsed time whatever engine runs it; the board asks how many channel-0
// periods elapsed and pulses IRQ0 for them.
//
// Modelled: modes 0 (interrupt on terminal count), 2 (rate generator), 3 (square wave),
// 4 (software strobe); lobyte/hibyte/lohi access; counter latch; read-back of counts and status.
// Modes 1 and 5 (hardware-gated) count like 0 and 4; BCD counting is not modelled.
#pragma once

#include <cstdint>
#include <optional>

#include "machine/port_bus.h"

namespace vireo::machine {

class Pit8254 : public PortDevice {
 public:
  static constexpr uint64_t kHz = 1193182;

  // `now_ns` is a monotonic clock the board passes in, so tests can drive time by hand.
  explicit Pit8254(uint64_t (*clock_ns)());
  const char* name() const override { return "pit8254"; }
  uint32_t read(uint16_t port, uint8_t size) override;
  void write(uint16_t port, uint8_t size, uint32_t value) override;

  // Channel-0 output edges (IRQ0 interrupts) since the last call.
  uint64_t take_irq0_edges();
  // When the next channel-0 edge is due, if one is.
  std::optional<uint64_t> next_irq0_ns() const;

 private:
  struct Channel {
    uint8_t mode = 0, access = 3;  // access: 1 lobyte, 2 hibyte, 3 lobyte then hibyte
    uint32_t reload = 0x10000;     // a written 0 means 65536
    bool armed = false;            // a count has been loaded
    uint64_t start_ns = 0;         // when counting from `reload` began
    bool write_hi = false, read_hi = false;
    uint8_t write_lo = 0;
    bool latched = false;
    uint16_t latch = 0;
    bool status_latched = false;
    uint8_t status = 0;
    bool gate = true;
  };
  uint64_t ticks_since_start(const Channel& c, uint64_t now) const;
  uint16_t current_count(const Channel& c, uint64_t now) const;
  bool output(const Channel& c, uint64_t now) const;
  void load(Channel& c, uint32_t count);

  uint64_t (*clock_ns_)();
  Channel ch_[3];
  uint64_t irq0_edges_seen_ = 0;  // edges already reported since ch_[0].start_ns
  uint8_t port61_ = 0;
};

}  // namespace vireo::machine
