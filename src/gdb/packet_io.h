// The GDB remote serial protocol's framing (gdb manual, "Overview" of the remote protocol):
// $payload#checksum packets, +/- acknowledgments until no-ack mode, the 0x03 interrupt byte,
// and the hex / binary encodings payloads use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vireo::gdb {

class PacketIo {
 public:
  explicit PacketIo(int fd) : fd_(fd) {}
  int fd() const { return fd_; }
  void set_no_ack() { no_ack_ = true; }

  enum class Kind { Packet, Interrupt, Closed };
  struct Incoming {
    Kind kind;
    std::string payload;  // Packet: unescaped payload
  };
  // Blocks until a whole packet (a bad checksum is NAKed and skipped), a 0x03, or the peer
  // closing. Stray bytes between packets (acks, garbage) are dropped.
  Incoming read();
  // True if a byte is waiting (the running guest's poll for 0x03).
  bool readable(int timeout_ms);
  // Sends $payload#cs, escaping '#', '$', '}' and '*' as '}' x^0x20 (binary qXfer data may
  // hold them; text replies never do); false if the peer is gone.
  bool send(std::string_view payload);

 private:
  int next_byte();  // -1 at end of stream
  int fd_;
  bool no_ack_ = false;
  std::vector<uint8_t> buf_;
  size_t pos_ = 0;
};

// Hex helpers: "1f" <-> bytes, little-endian register values, numbers.
std::string to_hex(const void* data, size_t len);
bool from_hex(std::string_view hex, std::vector<uint8_t>& out);
std::optional<uint64_t> parse_hex(std::string_view s);

}  // namespace vireo::gdb
