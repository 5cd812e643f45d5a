#include "machine/devices/pic8259.h"

namespace vireo::machine {

Pic8259::Pic8259() {
  // Vectors at reset are undefined on real hardware; BIOSes program 0x08/0x70. A guest always
  // reprograms them, but a sane default makes an unprogrammed acknowledge harmless.
  master_.vector_base = 0x08;
  slave_.vector_base = 0x70;
}

void Pic8259::Chip::set_input(int bit, bool level) {
  uint8_t m = uint8_t(1u << bit);
  bool was = line & m;
  if (level) line |= m; else line &= uint8_t(~m);
  if (elcr & m) {
    // Level-triggered: the request follows the line.
    if (level) irr |= m; else irr &= uint8_t(~m);
  } else if (level && !was) {
    irr |= m;  // rising edge
  }
}

int Pic8259::Chip::highest_request() const {
  uint8_t req = irr & uint8_t(~imr);
  if (!req) return -1;
  for (int i = 0; i < 8; ++i) {
    if (isr & (1u << i)) return -1;  // an equal or higher priority request is in service
    if (req & (1u << i)) return i;
  }
  return -1;
}

uint32_t Pic8259::Chip::read(bool data) {
  if (data) return imr;
  return read_isr ? isr : irr;
}

void Pic8259::Chip::write(bool data, uint8_t v) {
  if (!data && (v & 0x10)) {  // ICW1
    icw4_needed = v & 0x01;
    single = v & 0x02;
    if (v & 0x08) elcr = 0xFF;  // LTIM: all inputs level-triggered
    imr = 0; isr = 0; irr = 0;
    auto_eoi = false; read_isr = false;
    init_step = 2;
    return;
  }
  if (data && init_step) {
    if (init_step == 2) {
      vector_base = v & 0xF8;
      init_step = single ? (icw4_needed ? 4 : 0) : 3;
    } else if (init_step == 3) {
      init_step = icw4_needed ? 4 : 0;  // ICW3: the cascade wiring is fixed on a PC
    } else {
      auto_eoi = v & 0x02;
      init_step = 0;
    }
    return;
  }
  if (data) { imr = v; return; }  // OCW1
  if (v & 0x08) {                 // OCW3
    if (v & 0x02) read_isr = v & 0x01;
    return;
  }
  // OCW2: EOI commands; rotation bits are accepted but priority stays fixed.
  uint8_t cmd = v >> 5;
  if (cmd == 1 || cmd == 5) {  // non-specific EOI: clear the highest-priority in-service bit
    for (int i = 0; i < 8; ++i)
      if (isr & (1u << i)) { isr &= uint8_t(~(1u << i)); break; }
  } else if (cmd == 3 || cmd == 7) {  // specific EOI
    isr &= uint8_t(~(1u << (v & 7)));
  }
}

uint32_t Pic8259::read(uint16_t port, uint8_t) {
  switch (port) {
    case 0x20: case 0x21: return master_.read(port & 1);
    case 0xA0: case 0xA1: return slave_.read(port & 1);
    case 0x4D0: return master_.elcr;
    case 0x4D1: return slave_.elcr;
  }
  return 0xFF;
}

void Pic8259::write(uint16_t port, uint8_t, uint32_t value) {
  uint8_t v = uint8_t(value);
  switch (port) {
    case 0x20: case 0x21: master_.write(port & 1, v); break;
    case 0xA0: case 0xA1: slave_.write(port & 1, v); break;
    // IRQ0-2 and IRQ8/13 are always edge-triggered on a PC; the chipset hard-wires those bits.
    case 0x4D0: master_.elcr = v & 0xF8; break;
    case 0x4D1: slave_.elcr = v & 0xDE; break;
  }
  update_cascade();
}

// The slave's INT output follows its pending request, so the master sees IRQ2 as a level.
void Pic8259::update_cascade() {
  if (slave_.highest_request() >= 0) master_.irr |= 0x04;
  else master_.irr &= uint8_t(~0x04);
}

void Pic8259::set_irq(int irq, bool level) {
  if (irq < 8) master_.set_input(irq, level);
  else slave_.set_input(irq - 8, level);
  update_cascade();
}

bool Pic8259::interrupt_pending() const { return master_.highest_request() >= 0; }

bool Pic8259::irq_unmasked(int irq) const {
  if (irq < 8) return !(master_.imr & (1u << irq));
  return !(slave_.imr & (1u << (irq - 8))) && !(master_.imr & 0x04);
}

int Pic8259::acknowledge() {
  int irq = master_.highest_request();
  if (irq < 0) return master_.vector_base | 7;  // spurious IRQ7: nothing set in ISR
  uint8_t m = uint8_t(1u << irq);
  if (!(master_.elcr & m)) master_.irr &= uint8_t(~m);
  if (!master_.auto_eoi) master_.isr |= m;
  if (irq != 2) {
    update_cascade();
    return master_.vector_base | irq;
  }
  int sirq = slave_.highest_request();
  int vector;
  if (sirq < 0) {
    vector = slave_.vector_base | 7;  // spurious IRQ15
  } else {
    uint8_t sm = uint8_t(1u << sirq);
    if (!(slave_.elcr & sm)) slave_.irr &= uint8_t(~sm);
    if (!slave_.auto_eoi) slave_.isr |= sm;
    vector = slave_.vector_base | sirq;
  }
  update_cascade();
  return vector;
}

}  // namespace vireo::machine
