#include "machine/board.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "machine/host_clock.h"
#include "machine/loaders/acpi_tables.h"

namespace vireo::machine {

namespace {
constexpr uint16_t kCom1 = 0x3F8;
constexpr int kCom1Irq = 4;
// How often host input is polled while the guest runs: often enough that an interactive
// guest feels immediate, rarely enough that the poll costs nothing next to the guest.
constexpr uint64_t kInputPollNs = 1000000;
}  // namespace

Board::Board(const BoardConfig& cfg)
    : cfg_(cfg), ram_(cfg.ram_size), bus_(cfg.report), console_(&monotonic_ns), pit_(&monotonic_ns),
      uart_(kCom1, cfg.serial_out, &console_),
      rtc_(cfg.ram_size), acpi_pm_(request_, &monotonic_ns), reset_(request_), input_fd_(cfg.serial_in_fd) {
  if (cfg.cmos_nvram) rtc_.restore_nvram(cfg.cmos_nvram);
  bus_.map(0x20, 2, &pic_);
  bus_.map(0xA0, 2, &pic_);
  bus_.map(0x4D0, 2, &pic_);
  bus_.map(0x40, 4, &pit_);
  bus_.map(0x61, 1, &pit_);
  bus_.map(0x70, 2, &rtc_);
  bus_.map(0x80, 1, &post_);
  bus_.map(0xF4, 4, &debug_exit_);  // iosize=0x04, as the QEMU command line we mirror
  bus_.map(kCom1, 8, &uart_);
  bus_.map(0x64, 1, &reset_);
  bus_.map(0xCF9, 1, &reset_);
  bus_.map(acpi_ports::kPm1aEvent, 12, &acpi_pm_);
}

void Board::update_irqs() { pic_.set_irq(kCom1Irq, uart_.irq()); }

uint32_t Board::port_in(uint16_t port, uint8_t size) {
  // A guest polling the line status register for input should see host input promptly.
  if (port >= kCom1 && port < kCom1 + 8) {
    uint64_t now = monotonic_ns();
    if (now - last_input_poll_ns_ >= kInputPollNs / 10) poll_input(now, 0);
  }
  uint32_t v = bus_.in(port, size);
  update_irqs();
  return v;
}

void Board::port_out(uint16_t port, uint8_t size, uint32_t value) {
  bus_.out(port, size, value);
  update_irqs();
}

uint64_t Board::mmio_read(uint64_t gpa, uint8_t size) {
  if (reported_mmio_.insert(gpa).second && cfg_.report)
    fmt::print(cfg_.report, "vireo: read of {} bytes at {:#x}, outside RAM and every device: reads as all-ones\n", size, gpa);
  return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

void Board::mmio_write(uint64_t gpa, uint8_t size, uint64_t value) {
  if (reported_mmio_.insert(gpa).second && cfg_.report)
    fmt::print(cfg_.report, "vireo: write of {:#x} ({} bytes) at {:#x}, outside RAM and every device: ignored\n", value, size, gpa);
}

void Board::poll_input(uint64_t now, int timeout_ms) {
  last_input_poll_ns_ = now;
  if (input_fd_ < 0 || uart_.rx_room() == 0) return;
  pollfd p{input_fd_, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return;
  uint8_t buf[256];
  size_t want = std::min(sizeof buf, uart_.rx_room());
  ssize_t n = read(input_fd_, buf, want);
  if (n > 0 && cfg_.console_escape) n = ssize_t(filter_escapes(buf, size_t(n)));
  if (n > 0) uart_.receive(buf, size_t(n));
  else if (n == 0 || (errno != EINTR && errno != EAGAIN)) input_fd_ = -1;  // EOF: the line goes quiet
}

// The console escape, as QEMU's -nographic has it: Ctrl-A x quits, Ctrl-A Ctrl-A is a
// literal Ctrl-A, Ctrl-A followed by anything else is dropped with it. Returns the bytes left.
size_t Board::filter_escapes(uint8_t* buf, size_t n) {
  constexpr uint8_t kCtrlA = 0x01;
  size_t out = 0;
  for (size_t i = 0; i < n; ++i) {
    uint8_t b = buf[i];
    if (escape_pending_) {
      escape_pending_ = false;
      if (b == 'x' || b == 'X') request_ = MachineRequest::Quit;
      else if (b == kCtrlA) buf[out++] = b;
    } else if (b == kCtrlA) {
      escape_pending_ = true;
    } else {
      buf[out++] = b;
    }
  }
  return out;
}

void Board::flush_console() {
  if (cfg_.serial_out) std::fflush(cfg_.serial_out);
}

void Board::advance() {
  uint64_t now = monotonic_ns();
  if (pit_.take_irq0_edges() != 0) {
    // Edges that piled up while the host was busy merge into one request, as on hardware
    // where the PIC latches one edge per IRR bit.
    pic_.set_irq(0, true);
    pic_.set_irq(0, false);
  }
  if (now - last_input_poll_ns_ >= kInputPollNs) poll_input(now, 0);
  update_irqs();
}

bool Board::interrupt_pending() {
  advance();
  return pic_.interrupt_pending();
}

std::optional<uint64_t> Board::next_deadline_ns() {
  std::optional<uint64_t> d;
  if (pic_.irq_unmasked(0)) d = pit_.next_irq0_ns();
  if (input_fd_ >= 0 && uart_.wants_rx_interrupts() && pic_.irq_unmasked(kCom1Irq)) {
    uint64_t poll_at = last_input_poll_ns_ + kInputPollNs;
    if (!d || poll_at < *d) d = poll_at;
  }
  return d;
}

bool Board::wait_for_interrupt() {
  if (cfg_.serial_out) std::fflush(cfg_.serial_out);
  const uint64_t start = monotonic_ns();
  struct Account {
    uint64_t& total;
    uint64_t start;
    ~Account() { total += monotonic_ns() - start; }
  } account{halted_ns_, start};
  for (;;) {
    if (interrupt_pending()) return true;
    if (stop_requested()) return true;
    uint64_t now = monotonic_ns();
    std::optional<uint64_t> pit_at = pic_.irq_unmasked(0) ? pit_.next_irq0_ns() : std::nullopt;
    bool input_wakes = input_fd_ >= 0 && uart_.wants_rx_interrupts() && pic_.irq_unmasked(kCom1Irq);
    if (!pit_at && !input_wakes) return false;
    int timeout_ms = -1;
    if (pit_at) timeout_ms = *pit_at > now ? int((*pit_at - now + 999999) / 1000000) : 0;
    if (input_wakes) {
      poll_input(now, timeout_ms);
    } else if (timeout_ms > 0) {
      poll(nullptr, 0, timeout_ms);
    }
  }
}

}  // namespace vireo::machine
