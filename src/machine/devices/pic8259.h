// Pic8259: the PC's cascaded pair of 8259A programmable interrupt controllers (master at
// 0x20/0x21, slave at 0xA0/0xA1 on the master's IRQ2), plus the ELCR edge/level registers at
// 0x4D0/0x4D1. Our own model rather than KVM's in-kernel one, so that the same controller
// serves interp, jit and kvm.
//
// Modelled: ICW1-ICW4 initialisation, IMR, non-specific and specific EOI, auto-EOI, IRR/ISR
// reads through OCW3, fixed priority (IRQ0 highest), edge-triggered inputs (level-triggered
// where the ELCR says so), spurious IRQ7/IRQ15 on an acknowledge with nothing pending.
// Not modelled: priority rotation, special mask mode, poll mode, buffered mode.
#pragma once

#include <cstdint>

#include "machine/port_bus.h"

namespace vireo::machine {

class Pic8259 : public PortDevice {
 public:
  Pic8259();
  const char* name() const override { return "pic8259"; }
  uint32_t read(uint16_t port, uint8_t size) override;
  void write(uint16_t port, uint8_t size, uint32_t value) override;

  // Drives ISA interrupt line `irq` (0..15) to `level`.
  void set_irq(int irq, bool level);
  // True when the pair would assert INTR to the CPU now.
  bool interrupt_pending() const;
  // The CPU's INTA cycle: returns the vector and moves the request into service.
  int acknowledge();
  // True when IRQ `irq` is unmasked all the way to the CPU (used to skip host timers nobody sees).
  bool irq_unmasked(int irq) const;

 private:
  struct Chip {
    uint8_t irr = 0, isr = 0, imr = 0xFF;
    uint8_t line = 0;     // current input levels, for edge detection
    uint8_t elcr = 0;     // 1 = level-triggered
    uint8_t vector_base = 0;
    uint8_t init_step = 0;  // 0 = ready; 2..4 = expecting ICW2..ICW4
    bool icw4_needed = false, single = false;
    bool auto_eoi = false, read_isr = false;

    void set_input(int bit, bool level);
    int highest_request() const;  // -1 when nothing may be delivered
    uint32_t read(bool data);
    void write(bool data, uint8_t v);
  };
  void update_cascade();
  Chip master_, slave_;
};

}  // namespace vireo::machine
