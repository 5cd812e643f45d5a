// liblzma's CRC-64 (the .xz check of a kernel payload, machine/loaders/linux_payload.cpp),
// defined here so that the linker never takes liblzma.a's own (crc64_fast.o).
//
// Why: crc64_fast.o carries a constructor (crc64_set_func) that runs CPUID twice, at every
// start of every vireo process, to choose its CLMUL variant; in a VM each CPUID traps to the
// hypervisor, ~25 us a start on this host (issue 22, docs/performance.md "Start-up, thirteenth
// pass"), for a check that only `vireo boot` of an XZ kernel ever computes. An object file of
// the executable is linked before any archive is searched, so liblzma's check.o finds
// lzma_crc64 here. (Should a later liblzma need another symbol of crc64_fast.o, the link fails
// with a duplicate lzma_crc64: loudly, not silently.)
//
// The slicing-by-4 algorithm of liblzma's generic variant, with the tables built at compile
// time: the CRC of the XZ format (ECMA-182 polynomial, reflected, inverted in and out).
#include <lzma.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace {

using Tables = std::array<std::array<uint64_t, 256>, 4>;

constexpr Tables make_tables() {
  constexpr uint64_t kPoly = 0xC96C5795D7870F42;  // ECMA-182, bit-reversed
  Tables t{};
  for (uint64_t b = 0; b < 256; ++b) {
    uint64_t r = b;
    for (int i = 0; i < 8; ++i) r = (r & 1) ? (r >> 1) ^ kPoly : r >> 1;
    t[0][b] = r;
  }
  for (size_t k = 1; k < 4; ++k)
    for (size_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFF];
  return t;
}

constexpr Tables kTables = make_tables();

}  // namespace

extern "C" uint64_t lzma_crc64(const uint8_t* buf, size_t size, uint64_t crc) noexcept {
  const auto& t = kTables;
  crc = ~crc;
  for (; size >= 4; buf += 4, size -= 4) {
    uint32_t w;
    std::memcpy(&w, buf, 4);  // (x86-64: little-endian, unaligned loads are fine)
    const uint32_t x = uint32_t(crc) ^ w;
    crc = t[3][x & 0xFF] ^ t[2][(x >> 8) & 0xFF] ^ (crc >> 32) ^ t[1][(x >> 16) & 0xFF] ^ t[0][x >> 24];
  }
  for (; size; ++buf, --size) crc = t[0][(*buf ^ crc) & 0xFF] ^ (crc >> 8);
  return ~crc;
}
