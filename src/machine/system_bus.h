// SystemBus: what an engine needs from a machine while the guest runs, and nothing more.
//
// An engine that runs guest code in bulk (kvm here; interp and jit through the platform loop)
// serves device accesses and takes interrupts through this interface, so engines never see
// the board's devices and the board never sees an engine (design.md, "One picture").
#pragma once

#include <cstdint>
#include <stdexcept>

namespace vireo::machine {

// Thrown by an engine when the machine cannot go on (a triple fault, a guest state the engine
// does not model); the platform prints the message and stops with exit status 1.
struct MachineStop : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class SystemBus {
 public:
  virtual ~SystemBus() = default;
  // Port I/O: `size` is 1, 2 or 4.
  virtual uint32_t port_in(uint16_t port, uint8_t size) = 0;
  virtual void port_out(uint16_t port, uint8_t size, uint32_t value) = 0;
  // A guest-physical access outside RAM.
  virtual uint64_t mmio_read(uint64_t gpa, uint8_t size) = 0;
  virtual void mmio_write(uint64_t gpa, uint8_t size, uint64_t value) = 0;
  // The interrupt controller's INTR line (brought up to date with host time first) and the
  // CPU's interrupt-acknowledge cycle, which returns the vector to deliver.
  virtual bool interrupt_pending() = 0;
  virtual int acknowledge_interrupt() = 0;
  // The machine asks the engine to return control to the platform (e.g. the guest wrote the
  // debug-exit port).
  virtual bool stop_requested() const = 0;
};

}  // namespace vireo::machine
