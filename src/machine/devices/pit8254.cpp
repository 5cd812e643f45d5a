#include "machine/devices/pit8254.h"

namespace vireo::machine {

Pit8254::Pit8254(uint64_t (*clock_ns)()) : clock_ns_(clock_ns) {}

uint64_t Pit8254::ticks_since_start(const Channel& c, uint64_t now) const {
  uint64_t ns = now - c.start_ns;
  // ns * kHz / 1e9 without overflow for runs up to centuries.
  return (ns / 1000000000) * kHz + (ns % 1000000000) * kHz / 1000000000;
}

uint16_t Pit8254::current_count(const Channel& c, uint64_t now) const {
  if (!c.armed) return uint16_t(c.reload);
  uint64_t t = ticks_since_start(c, now);
  switch (c.mode) {
    case 2: case 3: case 6: case 7: {
      // Mode 3 counts down by two per tick; seen from outside it runs through the count twice
      // per period, which is what guests that read it for calibration expect.
      uint64_t r = c.reload;
      if (c.mode == 3 || c.mode == 7) return uint16_t(r - ((t * 2) % r));
      return uint16_t(r - (t % r));
    }
    default:  // 0, 1, 4, 5: count down once, then wrap through 0xFFFF
      return uint16_t(c.reload - t);
  }
}

bool Pit8254::output(const Channel& c, uint64_t now) const {
  if (!c.armed) return c.mode != 0;
  uint64_t t = ticks_since_start(c, now);
  switch (c.mode) {
    case 0: case 1: return t >= c.reload;
    case 2: case 6: return (t % c.reload) != c.reload - 1;
    case 3: case 7: return (t % c.reload) < (c.reload + 1) / 2;
    default: return t != c.reload;  // 4, 5: one low tick at terminal count
  }
}

void Pit8254::load(Channel& c, uint32_t count) {
  c.reload = count ? count : 0x10000;
  c.armed = true;
  c.start_ns = clock_ns_();
  if (&c == &ch_[0]) irq0_edges_seen_ = 0;
}

uint64_t Pit8254::take_irq0_edges() {
  const Channel& c = ch_[0];
  if (!c.armed) return 0;
  uint64_t t = ticks_since_start(c, clock_ns_());
  uint64_t edges;
  if (c.mode == 0 || c.mode == 1 || c.mode == 4 || c.mode == 5) edges = t >= c.reload ? 1 : 0;
  else edges = t / c.reload;  // periodic modes: one rising edge per period
  uint64_t fresh = edges - irq0_edges_seen_;
  irq0_edges_seen_ = edges;
  return fresh;
}

std::optional<uint64_t> Pit8254::next_irq0_ns() const {
  const Channel& c = ch_[0];
  if (!c.armed) return std::nullopt;
  uint64_t period = c.reload;
  bool one_shot = c.mode == 0 || c.mode == 1 || c.mode == 4 || c.mode == 5;
  if (one_shot && irq0_edges_seen_) return std::nullopt;
  uint64_t tick = one_shot ? period : (irq0_edges_seen_ + 1) * period;
  return c.start_ns + (tick / kHz) * 1000000000 + (tick % kHz) * 1000000000 / kHz;
}

uint32_t Pit8254::read(uint16_t port, uint8_t) {
  uint64_t now = clock_ns_();
  if (port == 0x61) {
    // Bit 4 toggles with DRAM refresh (every 15 us); old delay loops spin on it.
    bool refresh = (now / 15000) & 1;
    return (port61_ & 0x0F) | (refresh ? 0x10 : 0) | (output(ch_[2], now) && ch_[2].gate ? 0x20 : 0);
  }
  if (port == 0x43) return 0xFF;  // the control word register is write-only
  Channel& c = ch_[port - 0x40];
  if (c.status_latched) {
    c.status_latched = false;
    return c.status;
  }
  uint16_t v = c.latched ? c.latch : current_count(c, now);
  uint8_t byte;
  if (c.access == 1) byte = uint8_t(v);
  else if (c.access == 2) byte = uint8_t(v >> 8);
  else {
    byte = c.read_hi ? uint8_t(v >> 8) : uint8_t(v);
    c.read_hi = !c.read_hi;
    if (c.read_hi) return byte;  // the latch holds until both bytes are read
  }
  c.latched = false;
  return byte;
}

void Pit8254::write(uint16_t port, uint8_t, uint32_t value) {
  uint8_t v = uint8_t(value);
  if (port == 0x61) {
    port61_ = v & 0x0F;
    bool gate = v & 1;
    if (gate && !ch_[2].gate && ch_[2].armed) ch_[2].start_ns = clock_ns_();  // rising gate restarts
    ch_[2].gate = gate;
    return;
  }
  if (port != 0x43) {
    Channel& c = ch_[port - 0x40];
    if (c.access == 1) load(c, v);
    else if (c.access == 2) load(c, uint32_t(v) << 8);
    else if (!c.write_hi) { c.write_lo = v; c.write_hi = true; }
    else { c.write_hi = false; load(c, c.write_lo | (uint32_t(v) << 8)); }
    return;
  }
  int sel = v >> 6;
  if (sel == 3) {  // read-back command: bit 5 clear latches counts, bit 4 clear latches status
    uint64_t now = clock_ns_();
    for (int i = 0; i < 3; ++i) {
      if (!(v & (2 << i))) continue;
      Channel& c = ch_[i];
      if (!(v & 0x20) && !c.latched) { c.latched = true; c.latch = current_count(c, now); c.read_hi = false; }
      if (!(v & 0x10)) {
        c.status_latched = true;
        c.status = uint8_t((output(c, now) ? 0x80 : 0) | (c.armed ? 0 : 0x40) | (c.access << 4) | (c.mode << 1));
      }
    }
    return;
  }
  Channel& c = ch_[sel];
  int access = (v >> 4) & 3;
  if (access == 0) {  // counter latch command
    if (!c.latched) { c.latched = true; c.latch = current_count(c, clock_ns_()); c.read_hi = false; }
    return;
  }
  c.access = uint8_t(access);
  c.mode = (v >> 1) & 7;
  c.armed = false;  // a new control word stops the counter until a count is written
  c.write_hi = c.read_hi = c.latched = false;
  if (sel == 0) irq0_edges_seen_ = 0;
}

}  // namespace vireo::machine
