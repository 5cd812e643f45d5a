#include "machine/devices/cmos_rtc.h"

#include <ctime>

namespace vireo::machine {

namespace {
enum : uint8_t {
  SECONDS = 0x00, MINUTES = 0x02, HOURS = 0x04, WEEKDAY = 0x06, DAY = 0x07, MONTH = 0x08,
  YEAR = 0x09, STATUS_A = 0x0A, STATUS_B = 0x0B, STATUS_C = 0x0C, STATUS_D = 0x0D, CENTURY = 0x32,
  B_24H = 0x02, B_BINARY = 0x04,
};
uint8_t to_bcd(int v) { return uint8_t(((v / 10) << 4) | (v % 10)); }
}  // namespace

CmosRtc::CmosRtc(uint64_t ram_size) {
  ram_[STATUS_A] = 0x26;  // 32.768 kHz time base, 1024 Hz rate
  ram_[STATUS_B] = B_24H; // BCD, 24-hour: what a PC BIOS leaves
  ram_[STATUS_D] = 0x80;  // battery good
  // Memory size bytes (KiB and 64 KiB units), as BIOSes and old kernels read them.
  ram_[0x15] = 0x80; ram_[0x16] = 0x02;  // 640 KiB base memory
  uint64_t ext_kib = ram_size > (1u << 20) ? (ram_size - (1u << 20)) >> 10 : 0;
  if (ext_kib > 0xFFFF) ext_kib = 0xFFFF;
  ram_[0x17] = ram_[0x30] = uint8_t(ext_kib);
  ram_[0x18] = ram_[0x31] = uint8_t(ext_kib >> 8);
  uint64_t above16 = ram_size > (16u << 20) ? (ram_size - (16u << 20)) >> 16 : 0;
  if (above16 > 0xFFFF) above16 = 0xFFFF;
  ram_[0x34] = uint8_t(above16);
  ram_[0x35] = uint8_t(above16 >> 8);
}

uint8_t CmosRtc::time_register(uint8_t index) const {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  bool binary = ram_[STATUS_B] & B_BINARY;
  auto enc = [&](int v) { return binary ? uint8_t(v) : to_bcd(v); };
  switch (index) {
    case SECONDS: return enc(tm.tm_sec);
    case MINUTES: return enc(tm.tm_min);
    case HOURS: {
      if (ram_[STATUS_B] & B_24H) return enc(tm.tm_hour);
      int h = tm.tm_hour % 12;
      return uint8_t(enc(h ? h : 12) | (tm.tm_hour >= 12 ? 0x80 : 0));
    }
    case WEEKDAY: return enc(tm.tm_wday + 1);
    case DAY: return enc(tm.tm_mday);
    case MONTH: return enc(tm.tm_mon + 1);
    case YEAR: return enc(tm.tm_year % 100);
    case CENTURY: return enc(19 + tm.tm_year / 100);
  }
  return ram_[index];
}

uint32_t CmosRtc::read(uint16_t port, uint8_t) {
  if (port == 0x70) return 0xFF;  // the index register is write-only
  uint8_t i = index_ & 0x7F;
  switch (i) {
    case SECONDS: case MINUTES: case HOURS: case WEEKDAY: case DAY: case MONTH: case YEAR: case CENTURY:
      return time_register(i);
    case STATUS_A: return ram_[STATUS_A] & 0x7F;  // update-in-progress never shows: reads are atomic here
    case STATUS_C: {
      uint8_t v = ram_[STATUS_C];
      ram_[STATUS_C] = 0;  // reading C acknowledges its flags
      return v;
    }
  }
  return ram_[i];
}

void CmosRtc::write(uint16_t port, uint8_t, uint32_t value) {
  if (port == 0x70) { index_ = uint8_t(value); return; }
  uint8_t i = index_ & 0x7F;
  if (i == STATUS_C || i == STATUS_D) return;  // read-only
  if (i <= YEAR || i == CENTURY) return;  // setting the clock is not modelled: the host owns time
  ram_[i] = uint8_t(value);
}

void CmosRtc::restore_nvram(const uint8_t* bytes) {
  for (unsigned i = 0; i < kNvramCount; ++i) ram_[kNvramFirst + i] = bytes[i];
}

}  // namespace vireo::machine
