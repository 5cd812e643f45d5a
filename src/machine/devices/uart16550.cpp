#include "machine/devices/uart16550.h"

namespace vireo::machine {

namespace {
enum : uint8_t {
  LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20, LSR_TEMT = 0x40,
  IER_RDA = 0x01, IER_THRE = 0x02, IER_RLS = 0x04,
  MCR_LOOP = 0x10,
};
}

uint8_t Uart16550::interrupt_id() const {
  // Priority order from the datasheet: line status, received data, THR empty, modem status.
  if ((ier_ & IER_RLS) && overrun_) return 0x06;
  if ((ier_ & IER_RDA) && !rx_.empty()) return 0x04;
  if ((ier_ & IER_THRE) && thr_empty_pending_) return 0x02;
  return 0x01;  // no interrupt pending
}

void Uart16550::receive(const uint8_t* data, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (rx_.size() >= kRxCapacity) { overrun_ = true; break; }
    rx_.push_back(data[i]);
  }
}

void Uart16550::transmit(uint8_t byte) {
  if (mcr_ & MCR_LOOP) {
    receive(&byte, 1);
  } else if (out_) {
    if (watch_) watch_->on_byte(byte);
    std::fputc(byte, out_);
    // Flush per line so an interleaved stderr report lands where it happened.
    if (byte == '\n') std::fflush(out_);
  }
  thr_empty_pending_ = true;  // the byte left at once, so THR is empty again
}

uint32_t Uart16550::read(uint16_t port, uint8_t) {
  bool dlab = lcr_ & 0x80;
  switch (port - base_) {
    case 0:
      if (dlab) return divisor_ & 0xFF;
      if (rx_.empty()) return 0;
      {
        uint8_t b = rx_.front();
        rx_.pop_front();
        return b;
      }
    case 1: return dlab ? divisor_ >> 8 : ier_;
    case 2: {
      uint8_t id = interrupt_id();
      if (id == 0x02) thr_empty_pending_ = false;  // reading IIR acknowledges THR empty
      return id | ((fcr_ & 0x01) ? 0xC0 : 0);
    }
    case 3: return lcr_;
    case 4: return mcr_;
    case 5: {
      uint8_t lsr = LSR_THRE | LSR_TEMT | (rx_.empty() ? 0 : LSR_DR) | (overrun_ ? LSR_OE : 0);
      overrun_ = false;
      return lsr;
    }
    case 6:
      // In loopback the modem inputs echo the MCR outputs; otherwise report CTS, DSR and DCD
      // asserted, a cable with a terminal attached.
      if (mcr_ & MCR_LOOP) return ((mcr_ & 0x0C) << 4) | ((mcr_ & 0x01) << 5) | ((mcr_ & 0x02) << 3);
      return 0xB0;
    case 7: return scr_;
  }
  return 0xFF;
}

void Uart16550::write(uint16_t port, uint8_t, uint32_t value) {
  uint8_t v = uint8_t(value);
  bool dlab = lcr_ & 0x80;
  switch (port - base_) {
    case 0:
      if (dlab) divisor_ = uint16_t((divisor_ & 0xFF00) | v);
      else transmit(v);
      break;
    case 1:
      if (dlab) {
        divisor_ = uint16_t((divisor_ & 0x00FF) | (v << 8));
      } else {
        // Enabling the THR-empty interrupt while THR is empty raises it at once (16550A).
        if ((v & IER_THRE) && !(ier_ & IER_THRE)) thr_empty_pending_ = true;
        ier_ = v & 0x0F;
      }
      break;
    case 2:
      fcr_ = v & 0xC9;
      if (v & 0x02) rx_.clear();
      break;
    case 3: lcr_ = v; break;
    case 4: mcr_ = v & 0x1F; break;
    case 7: scr_ = v; break;
  }
}

}  // namespace vireo::machine
