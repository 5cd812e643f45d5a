// x87 test sequences run twice: natively (called as a function) and on the interpreter (the
// same bytes copied into the harness' code page). The bytes are identical by construction, so
// the only thing that can differ is the result.
//
// A sequence gets %rdi = a 2 KiB, 16-byte aligned buffer laid out as below, starts with FNINIT,
// clearing the registers and FLDCW from the buffer, stores everything it wants compared into the buffer, and ends with
// FNINIT (the ABI wants an empty x87 stack and FCW 037FH at a call boundary).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "interp_harness.h"

namespace vireo::test {

// Input layout.
inline constexpr unsigned kA = 0;      // long double a (10 bytes in a 16-byte slot)
inline constexpr unsigned kB = 16;     // long double b
inline constexpr unsigned kD = 32;     // double  (double)b
inline constexpr unsigned kF = 40;     // float   (float)b
inline constexpr unsigned kI = 44;     // int32   b converted (saturating, 0 for NaN)
inline constexpr unsigned kCw = 48;    // uint16  FCW loaded by the prologue
inline constexpr unsigned kW = 50;     // int16   b converted
inline constexpr unsigned kJ = 52;     // int32   a converted
inline constexpr unsigned kQ = 56;     // int64   b converted
inline constexpr unsigned kOut = 64;   // outputs from here on
inline constexpr unsigned kBufSize = 2048;

// Physical registers keep their contents when freed, and FNSAVE/FXSAVE store them all, so the
// prologue writes +0 into all eight to make the native and guest runs start alike.
#define kX87ClearRegs                                                                 \
  "fldz\n\tfldz\n\tfldz\n\tfldz\n\tfldz\n\tfldz\n\tfldz\n\tfldz\n\tfninit\n\t"

#define X87_SEQ(name, body)                                                                 \
  asm(".pushsection .text\n\t.p2align 4\n\t.globl x87seq_" #name "\n\t.hidden x87seq_" #name \
      "\nx87seq_" #name ":\n\tfninit\n\t" kX87ClearRegs "fldcw 48(%rdi)\n\t" body                              \
      "\n\tfninit\n\t.globl x87seq_" #name "_end\n\t.hidden x87seq_" #name "_end\nx87seq_"    \
      #name "_end:\n\tret\n\t.popsection");                                                 \
  extern "C" void x87seq_##name(uint8_t*);                                                 \
  extern "C" const uint8_t x87seq_##name##_end[];                                          \
  inline const ::vireo::test::X87Seq kSeq_##name = {                                       \
      #name, x87seq_##name, x87seq_##name##_end}

struct X87Seq {
  const char* name;
  void (*fn)(uint8_t*);
  const uint8_t* end;
};

inline long double ld_bits(uint16_t se, uint64_t mant) {
  long double v = 0;
  std::memcpy(&v, &mant, 8);
  std::memcpy(reinterpret_cast<uint8_t*>(&v) + 8, &se, 2);
  return v;
}

template <class I>
I saturate(long double v) {
  if (std::isnan(v)) return 0;
  if (v >= static_cast<long double>(std::numeric_limits<I>::max()))
    return std::numeric_limits<I>::max();
  if (v <= static_cast<long double>(std::numeric_limits<I>::min()))
    return std::numeric_limits<I>::min();
  return static_cast<I>(v);
}

struct X87Inputs {
  long double a = 0, b = 0;
  uint16_t fcw = 0x37F;
};

inline void fill_inputs(uint8_t* buf, const X87Inputs& in) {
  std::memset(buf, 0x5A, kBufSize);  // a recognisable pattern: stores that must not happen
  std::memset(buf, 0, kOut);
  std::memcpy(buf + kA, &in.a, 10);
  std::memcpy(buf + kB, &in.b, 10);
  double d = static_cast<double>(in.b);
  float f = static_cast<float>(in.b);
  int32_t i = saturate<int32_t>(in.b), j = saturate<int32_t>(in.a);
  int16_t w = saturate<int16_t>(in.b);
  int64_t q = saturate<int64_t>(in.b);
  std::memcpy(buf + kD, &d, 8);
  std::memcpy(buf + kF, &f, 4);
  std::memcpy(buf + kI, &i, 4);
  std::memcpy(buf + kCw, &in.fcw, 2);
  std::memcpy(buf + kW, &w, 2);
  std::memcpy(buf + kJ, &j, 4);
  std::memcpy(buf + kQ, &q, 8);
}

inline std::string hex_ld(long double v) {
  uint8_t b[10];
  std::memcpy(b, &v, 10);
  std::string s;
  char t[4];
  for (int k = 9; k >= 0; --k) {
    std::snprintf(t, sizeof t, "%02x", b[k]);
    s += t;
  }
  return s;
}

// Byte ranges (offset, length) excluded from the comparison, each with a reason at the call.
using Masks = std::vector<std::pair<unsigned, unsigned>>;

class X87Runner {
 public:
  // Runs `seq` natively and on the interpreter with the same inputs; returns true if the
  // buffers agree outside `masks`, else records a failure describing the first differences.
  bool check(const X87Seq& seq, const X87Inputs& in, const Masks& masks = {},
             const uint8_t* extra = nullptr, unsigned extra_off = 0, unsigned extra_len = 0) {
    alignas(16) static uint8_t native[kBufSize];
    alignas(16) static uint8_t guest[kBufSize];
    fill_inputs(native, in);
    if (extra) std::memcpy(native + extra_off, extra, extra_len);
    std::memcpy(guest, native, kBufSize);
    seq.fn(native);

    const uint8_t* start = reinterpret_cast<const uint8_t*>(seq.fn);
    std::vector<uint8_t> code(start, seq.end);
    std::memcpy(h.data(), guest, kBufSize);
    h.cpu.gpr[RDI] = InterpHarness::kData;
    h.cpu.gpr[RSP] = InterpHarness::kData + 0x8000;
    StopReason r = h.run(code);
    EXPECT_EQ(r, StopReason::None) << seq.name << ": vector " << int(h.cpu.fault.vector)
                                   << " at +" << (h.cpu.rip - InterpHarness::kCode);
    if (r != StopReason::None) return false;
    std::memcpy(guest, h.data(), kBufSize);
    for (auto [off, len] : masks) {
      std::memset(native + off, 0, len);
      std::memset(guest + off, 0, len);
    }
    if (std::memcmp(native, guest, kBufSize) == 0) return true;
    std::string diff;
    int shown = 0;
    for (unsigned k = 0; k < kBufSize && shown < 12; ++k) {
      if (native[k] != guest[k]) {
        char t[64];
        std::snprintf(t, sizeof t, " [%u] native %02x guest %02x;", k, native[k], guest[k]);
        diff += t;
        ++shown;
      }
    }
    ADD_FAILURE() << seq.name << " a=" << hex_ld(in.a) << " b=" << hex_ld(in.b) << " fcw=0x"
                  << std::hex << in.fcw << ":" << diff;
    return false;
  }

  InterpHarness h;
};

// Interesting 80-bit values: zeros, ones, halves for rounding, integer-range edges, extremes,
// denormals, infinities, NaNs (quiet, signalling, the indefinite) and an unsupported unnormal.
inline std::vector<long double> x87_values() {
  return {
      0.0L, -0.0L, 1.0L, -1.0L, 1.5L, -2.5L, 3.0L, 0.1L, 1.0L / 3.0L, -7.0L / 3.0L,
      2.5L, 32767.5L, -32768.5L, 2147483647.5L, -2147483649.0L, 9223372036854775807.0L,
      -9223372036854775808.0L, 18446744073709551616.0L, 1e10L, -1e-10L, 1e300L, 1e-300L,
      1e4000L, -1e-4000L, 3.14159265358979323846264338327950288L,
      ld_bits(0x7FFE, ~0ull),                       // largest finite
      ld_bits(0x0001, 1ull << 63),                  // smallest normal
      ld_bits(0x0000, 1),                           // smallest denormal
      ld_bits(0x8000, 0x4000000000000000ull),       // negative denormal
      ld_bits(0x7FFF, 1ull << 63),                  // +inf
      ld_bits(0xFFFF, 1ull << 63),                  // -inf
      ld_bits(0x7FFF, 0xC000000000001234ull),       // QNaN with payload
      ld_bits(0x7FFF, 0x8000000000000001ull),       // SNaN
      ld_bits(0xFFFF, 0xC000000000000000ull),       // the QNaN indefinite
      ld_bits(0x4000, 0x4000000000000000ull),       // unnormal (unsupported format)
  };
}

// FCW variants: rounding control (nearest, down, up, toward zero) at extended precision, and
// double / single precision control.
inline constexpr uint16_t kFcwVariants[] = {0x037F, 0x077F, 0x0B7F, 0x0F7F, 0x027F, 0x007F,
                                            0x067F};

}  // namespace vireo::test
