// Uart16550: a 16550A serial port (COM1 at 0x3F8, IRQ4). Transmit goes straight to a host
// sink (stdout); receive is fed by the board from a host fd. Both polling guests (LSR) and
// interrupt-driven guests (IER/IIR) work.
//
// Modelled: RBR/THR, IER (RX data, THR empty, line status), IIR with FIFO bits, FCR (FIFO
// enable and resets; the RX trigger level is accepted, the interrupt fires at one byte), LCR
// with DLAB and the divisor latch, MCR (loopback), LSR, MSR, SCR. Baud rate and framing are
// accepted and ignored: bytes move as fast as the host lets them.
#pragma once

#include <cstdint>
#include <cstdio>
#include <deque>

#include "machine/console_watch.h"
#include "machine/port_bus.h"

namespace vireo::machine {

class Uart16550 : public PortDevice {
 public:
  // `watch`, if given, sees every transmitted byte.
  Uart16550(uint16_t base, std::FILE* out, ConsoleWatch* watch = nullptr) : base_(base), out_(out), watch_(watch) {}
  const char* name() const override { return "uart16550"; }
  uint32_t read(uint16_t port, uint8_t size) override;
  void write(uint16_t port, uint8_t size, uint32_t value) override;

  // Bytes arriving on the line, e.g. from the host's stdin.
  void receive(const uint8_t* data, size_t n);
  // Room left in the receive FIFO (the board stops reading the host fd when it is full).
  size_t rx_room() const { return rx_.size() >= kRxCapacity ? 0 : kRxCapacity - rx_.size(); }
  // Level of the IRQ line.
  bool irq() const { return interrupt_id() != 0x01; }
  // The guest enabled receive interrupts, so waiting host input should be watched.
  bool wants_rx_interrupts() const { return ier_ & 0x01; }

 private:
  static constexpr size_t kRxCapacity = 4096;  // deeper than a 16550's 16 bytes: a pipe does not wait
  uint8_t interrupt_id() const;  // IIR bits 0..3
  void transmit(uint8_t byte);

  uint16_t base_;
  std::FILE* out_;
  ConsoleWatch* watch_;
  std::deque<uint8_t> rx_;
  uint8_t ier_ = 0, lcr_ = 0, mcr_ = 0, scr_ = 0, fcr_ = 0;
  uint16_t divisor_ = 12;  // 9600 baud
  bool thr_empty_pending_ = false;  // THR-empty interrupt armed, cleared by reading IIR or writing THR
  bool overrun_ = false;
};

}  // namespace vireo::machine
