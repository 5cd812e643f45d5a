#include "gdb/packet_io.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace vireo::gdb {

namespace {

constexpr size_t kMaxPacket = 1 << 20;  // a larger one is garbage: dropped

int hex_digit(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool write_all(int fd, const char* p, size_t n) {
  while (n) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= size_t(w);
  }
  return true;
}

}  // namespace

int PacketIo::next_byte() {
  if (pos_ == buf_.size()) {
    buf_.resize(4096);
    ssize_t n;
    do n = ::recv(fd_, buf_.data(), buf_.size(), 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
      buf_.clear();
      pos_ = 0;
      return -1;
    }
    buf_.resize(size_t(n));
    pos_ = 0;
  }
  return buf_[pos_++];
}

bool PacketIo::readable(int timeout_ms) {
  if (pos_ < buf_.size()) return true;
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) > 0;
}

PacketIo::Incoming PacketIo::read() {
  for (;;) {
    int c = next_byte();
    if (c < 0) return {Kind::Closed, {}};
    if (c == 0x03) return {Kind::Interrupt, {}};
    if (c != '$') continue;  // acks and garbage between packets
    std::string raw;
    bool too_long = false;
    for (;;) {
      c = next_byte();
      if (c < 0) return {Kind::Closed, {}};
      if (c == '#') break;
      if (c == '$') raw.clear();  // a packet started over: the truncated one is dropped
      else if (raw.size() < kMaxPacket) raw.push_back(char(c));
      else too_long = true;
    }
    int h = next_byte(), l = next_byte();
    if (h < 0 || l < 0) return {Kind::Closed, {}};
    uint8_t sum = 0;
    for (char ch : raw) sum = uint8_t(sum + uint8_t(ch));
    bool ok = hex_digit(h) >= 0 && hex_digit(l) >= 0 && uint8_t(hex_digit(h) << 4 | hex_digit(l)) == sum;
    if (no_ack_) {
      if (too_long) continue;
    } else {
      // (A peer that sent its last packet and hung up, k say, still has it served: a failed
      // ack is not the end; the reply's failure will be.)
      bool acked = write_all(fd_, ok && !too_long ? "+" : "-", 1);
      if (!ok || too_long) {
        if (!acked) return {Kind::Closed, {}};
        continue;
      }
    }
    // Unescape ('}' x -> x ^ 0x20); run-length encoding is only sent by stubs, never by gdb.
    std::string payload;
    payload.reserve(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '}' && i + 1 < raw.size()) payload.push_back(char(raw[++i] ^ 0x20));
      else payload.push_back(raw[i]);
    }
    return {Kind::Packet, std::move(payload)};
  }
}

bool PacketIo::send(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 4);
  out.push_back('$');
  uint8_t sum = 0;
  for (char c : payload) {
    if (c == '$' || c == '#' || c == '}' || c == '*') {
      out.push_back('}');
      sum = uint8_t(sum + '}');
      c = char(c ^ 0x20);
    }
    out.push_back(c);
    sum = uint8_t(sum + uint8_t(c));
  }
  static const char* digits = "0123456789abcdef";
  out.push_back('#');
  out.push_back(digits[sum >> 4]);
  out.push_back(digits[sum & 15]);
  // In ack mode gdb acknowledges; a '-' asks for the packet again (bounded retries).
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (!write_all(fd_, out.data(), out.size())) return false;
    if (no_ack_) return true;
    for (;;) {
      int c = next_byte();
      if (c < 0) return false;
      if (c == '+') return true;
      if (c == '-') break;
      if (c == '$') {  // gdb sent a packet instead: keep it for read()
        --pos_;
        return true;
      }
    }
  }
  return true;
}

std::string to_hex(const void* data, size_t len) {
  static const char* digits = "0123456789abcdef";
  const auto* p = static_cast<const uint8_t*>(data);
  std::string s(len * 2, '0');
  for (size_t i = 0; i < len; ++i) {
    s[2 * i] = digits[p[i] >> 4];
    s[2 * i + 1] = digits[p[i] & 15];
  }
  return s;
}

bool from_hex(std::string_view hex, std::vector<uint8_t>& out) {
  if (hex.size() % 2) return false;
  out.resize(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int h = hex_digit(hex[2 * i]), l = hex_digit(hex[2 * i + 1]);
    if (h < 0 || l < 0) return false;
    out[i] = uint8_t(h << 4 | l);
  }
  return true;
}

std::optional<uint64_t> parse_hex(std::string_view s) {
  if (s.empty() || s.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d = hex_digit(c);
    if (d < 0) return std::nullopt;
    v = v << 4 | uint64_t(d);
  }
  return v;
}

}  // namespace vireo::gdb
