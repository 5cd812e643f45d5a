// Edge-biased random states: the values where implementations tend to be wrong (zero, ±1,
// sign boundaries, all-ones; signed zeros, infinities, NaNs and denormals for floating point).
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "forms.h"

namespace vireo::difftest {

namespace {

bool chance(Rng& rng, unsigned percent) { return rng() % 100 < percent; }

template <class T>
T bits_to(uint64_t b) {
  T v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

}  // namespace

uint64_t random_gpr(Rng& rng) {
  static const uint64_t edges[] = {
      0, 1, 2, ~uint64_t(0), ~uint64_t(1), 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF,
      0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF,
      0x8000000000000000, 0x8000000000000001, 0x5555555555555555, 0xAAAAAAAAAAAAAAAA,
      0xFFFFFFFF80000000, 0xFFFFFFFFFFFF8000, 0xFFFFFFFFFFFFFF80};
  switch (rng() % 10) {
    case 0: case 1: case 2: return edges[rng() % (sizeof edges / 8)];
    case 3: return rng() % 2 ? rng() % 65 : uint64_t(-int64_t(rng() % 65));
    case 4: {
      // An edge in the low bits under random high bits: partial-register writes and reads.
      unsigned w = 8u << (rng() % 3);
      uint64_t low = edges[rng() % (sizeof edges / 8)] & ((uint64_t(1) << w) - 1);
      return (rng() & ~((uint64_t(1) << w) - 1)) | low;
    }
    case 5: return uint32_t(rng());
    default: return rng();
  }
}

void random_fp_bytes(Rng& rng, unsigned size, uint8_t* out) {
  if (size == 4) {
    static const uint32_t e[] = {0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x3F000000,
                                 0x3FC00000, 0x7F7FFFFF, 0xFF7FFFFF, 0x00800000, 0x00000001,
                                 0x007FFFFF, 0x807FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000,
                                 0xFFC00000, 0x7F800001, 0x7FA00000, 0x4F000000, 0xCF000000,
                                 0x4EFFFFFF, 0x5F000000, 0xDF000000, 0x3EFFFFFF, 0x40200000};
    uint32_t v;
    switch (rng() % 4) {
      case 0: case 1: v = e[rng() % (sizeof e / 4)]; break;
      case 2: v = std::bit_cast<uint32_t>(float(int32_t(rng() % 2001) - 1000) / 8); break;
      default: v = uint32_t(rng()); break;
    }
    std::memcpy(out, &v, 4);
  } else if (size == 8) {
    static const uint64_t e[] = {
        0x0000000000000000, 0x8000000000000000, 0x3FF0000000000000, 0xBFF0000000000000,
        0x3FE0000000000000, 0x3FF8000000000000, 0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF,
        0x0010000000000000, 0x0000000000000001, 0x000FFFFFFFFFFFFF, 0x800FFFFFFFFFFFFF,
        0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000, 0xFFF8000000000000,
        0x7FF0000000000001, 0x7FF4000000000000, 0x41E0000000000000, 0xC1E0000000000000,
        0x41DFFFFFFFC00000, 0x41DFFFFFFFE00000, 0xC1E0000000100000, 0x43E0000000000000,
        0xC3E0000000000000, 0x3FDFFFFFFFFFFFFF, 0x4004000000000000, 0x47EFFFFFE0000000,
        0x36A0000000000000};
    uint64_t v;
    switch (rng() % 4) {
      case 0: case 1: v = e[rng() % (sizeof e / 8)]; break;
      case 2: v = std::bit_cast<uint64_t>(double(int64_t(rng() % 20001) - 10000) / 16); break;
      default: v = rng(); break;
    }
    std::memcpy(out, &v, 8);
  } else {  // 80-bit extended
    struct X { uint64_t mant; uint16_t se; };
    static const X e[] = {
        {0, 0}, {0, 0x8000}, {0x8000000000000000, 0x3FFF}, {0x8000000000000000, 0xBFFF},
        {0x8000000000000000, 0x7FFF}, {0x8000000000000000, 0xFFFF}, {0xC000000000000000, 0x7FFF},
        {0xC000000000000000, 0xFFFF}, {0xA000000000000000, 0x7FFF}, {0x0000000000000001, 0},
        {0x7FFFFFFFFFFFFFFF, 0}, {0x8000000000000000, 0x0001}, {0xFFFFFFFFFFFFFFFF, 0x7FFE},
        {0x8000000000000000, 0x403E}, {0x8000000000000000, 0xC03E}, {0x8000000000000000, 0x401E},
        {0xC90FDAA22168C235, 0x4000}, {0xFFFFFFFFFFFFFFFF, 0x403D}};
    X v;
    switch (rng() % 4) {
      case 0: case 1: v = e[rng() % (sizeof e / sizeof e[0])]; break;
      case 2: {
        long double d = (long double)(int64_t(rng() % 20001) - 10000) / 16;
        std::memcpy(out, &d, 10);
        return;
      }
      default:
        // A normal number with a random significand and a moderate exponent.
        v = {rng() | 0x8000000000000000, uint16_t((rng() & 0x8000) | (0x3FFF - 64 + rng() % 128))};
        break;
    }
    std::memcpy(out, &v.mant, 8);
    std::memcpy(out + 8, &v.se, 2);
  }
}

void random_state(Family fam, Rng& rng, CaseState& st, uint8_t* scratch) {
  std::memset(&st, 0, sizeof st);
  for (auto& g : st.gpr) g = random_gpr(rng);
  st.rip = kCodeAddr;
  st.rflags = (rng() & flag::ARITH) | (chance(rng, 20) ? flag::DF : 0) | flag::FIXED1 | flag::IF;

  for (auto& x : st.xmm) {
    switch (rng() % 4) {
      case 0: for (int l = 0; l < 4; ++l) random_fp_bytes(rng, 4, x.u8 + 4 * l); break;
      case 1: for (int l = 0; l < 2; ++l) random_fp_bytes(rng, 8, x.u8 + 8 * l); break;
      case 2: for (int l = 0; l < 2; ++l) x.u64[l] = random_gpr(rng); break;
      default: x.u64[0] = rng(); x.u64[1] = rng(); break;
    }
  }
  // Exceptions stay masked (an unmasked one would be a SIGFPE natively, which is its own
  // feature); rounding, FZ/DAZ and the sticky flags vary.
  st.mxcsr = 0x1F80;
  if (chance(rng, 40)) st.mxcsr |= uint32_t(rng() % 4) << 13;
  if (chance(rng, 10)) st.mxcsr |= 1u << 15;  // FZ
  if (chance(rng, 10)) st.mxcsr |= 1u << 6;   // DAZ
  if (chance(rng, 30)) st.mxcsr |= uint32_t(rng() & 0x3F);

  st.fcw = 0x037F;
  if (chance(rng, 30)) st.fcw = uint16_t((st.fcw & ~0x0C00) | ((rng() % 4) << 10));
  if (chance(rng, 15)) st.fcw = uint16_t((st.fcw & ~0x0300) | ((rng() % 2 ? 0 : 2) << 8));
  unsigned top = unsigned(rng() % 8);
  st.fsw = uint16_t((top << 11) | (rng() & 0x4700));  // TOP and C0..C3
  if (chance(rng, 25)) st.fsw |= uint16_t(rng() & 0x3F);
  st.ftw_valid = 0;
  for (int i = 0; i < 8; ++i) {
    // Stack position i is physical register (top + i) & 7; mostly full near the top.
    if (chance(rng, i < 3 ? 85 : 60)) {
      st.ftw_valid |= uint8_t(1u << ((top + i) & 7));
      random_fp_bytes(rng, 10, st.st[i]);
    }
  }
  if (fam != Family::X87 && chance(rng, 70)) st.ftw_valid = 0;  // the usual state outside x87

  for (size_t i = 0; i < kScratchSize; i += 8) {
    uint64_t v;
    switch (rng() % 4) {
      case 0: v = random_gpr(rng); break;
      case 1: random_fp_bytes(rng, 8, reinterpret_cast<uint8_t*>(&v)); break;
      case 2: random_fp_bytes(rng, 4, reinterpret_cast<uint8_t*>(&v));
              random_fp_bytes(rng, 4, reinterpret_cast<uint8_t*>(&v) + 4); break;
      default: v = rng(); break;
    }
    std::memcpy(scratch + i, &v, 8);
  }
  if (is_avx_family(fam)) random_ymm_hi(rng, st);  // after all else: other families' draws stay
}

void random_ymm_hi(Rng& rng, CaseState& st) {
  for (auto& x : st.ymm_hi) {
    switch (rng() % 5) {
      case 0: for (int l = 0; l < 4; ++l) random_fp_bytes(rng, 4, x.u8 + 4 * l); break;
      case 1: for (int l = 0; l < 2; ++l) random_fp_bytes(rng, 8, x.u8 + 8 * l); break;
      case 2: for (int l = 0; l < 2; ++l) x.u64[l] = random_gpr(rng); break;
      case 3: x = Xmm{}; break;  // a clean upper half, as after vzeroupper
      default: x.u64[0] = rng(); x.u64[1] = rng(); break;
    }
  }
}

}  // namespace vireo::difftest
