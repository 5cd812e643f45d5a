// PortBus: the x86 I/O port space. Devices claim port ranges; an access to an unclaimed port
// reads as all-ones and ignores writes, as on a PC with nothing decoding that address, and is
// reported once per port so that a guest probing for hardware we lack is visible.
#pragma once

#include <cstdint>
#include <cstdio>
#include <vector>

namespace vireo::machine {

class PortDevice {
 public:
  virtual ~PortDevice() = default;
  virtual const char* name() const = 0;
  // `port` is the absolute port number; `size` is 1, 2 or 4 bytes.
  virtual uint32_t read(uint16_t port, uint8_t size) = 0;
  virtual void write(uint16_t port, uint8_t size, uint32_t value) = 0;
};

inline uint32_t all_ones(uint8_t size) { return size >= 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1; }

class PortBus {
 public:
  explicit PortBus(std::FILE* report = stderr) : report_(report), devices_(65536, nullptr), reported_(65536, false) {}
  // Claims [first, first+count) for `dev`; later claims override earlier ones.
  void map(uint16_t first, uint32_t count, PortDevice* dev);
  uint32_t in(uint16_t port, uint8_t size);
  void out(uint16_t port, uint8_t size, uint32_t value);
  PortDevice* device_at(uint16_t port) const { return devices_[port]; }

 private:
  void report_unknown(uint16_t port, uint8_t size, bool is_in, uint32_t value);
  std::FILE* report_;
  std::vector<PortDevice*> devices_;
  std::vector<bool> reported_;
};

}  // namespace vireo::machine
