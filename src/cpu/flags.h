// Exact RFLAGS computation for the integer instructions (SDM Vol. 1, 3.4.3.1 and Appendix A).
//
// Every helper returns the six arithmetic status flags (flag::ARITH) for a result of width
// sizeof(T); callers merge them into RFLAGS with set_arith_flags().
#pragma once

#include <cstdint>
#include <type_traits>

#include "cpu/cpu_state.h"

namespace vireo::flags {

template <class T>
constexpr uint64_t sign_bit() {
  return uint64_t(1) << (sizeof(T) * 8 - 1);
}

// PF reflects only the low byte of the result: set when it has an even number of ones.
inline uint64_t parity(uint64_t v) {
  return (__builtin_parity(uint8_t(v)) ? 0 : flag::PF);
}

template <class T>
inline uint64_t szp(T r) {
  uint64_t f = parity(r);
  if (r == 0) f |= flag::ZF;
  if (uint64_t(r) & sign_bit<T>()) f |= flag::SF;
  return f;
}

// a + b + carry_in = r
template <class T>
inline uint64_t add(T a, T b, T r, bool carry_in = false) {
  uint64_t f = szp<T>(r);
  if (r < a || (carry_in && r == a)) f |= flag::CF;
  if ((a ^ b ^ r) & 0x10) f |= flag::AF;
  if (uint64_t((a ^ r) & (b ^ r)) & sign_bit<T>()) f |= flag::OF;
  return f;
}

// a - b - borrow_in = r
template <class T>
inline uint64_t sub(T a, T b, T r, bool borrow_in = false) {
  uint64_t f = szp<T>(r);
  if (a < b || (borrow_in && a == b)) f |= flag::CF;
  if ((a ^ b ^ r) & 0x10) f |= flag::AF;
  if (uint64_t((a ^ b) & (a ^ r)) & sign_bit<T>()) f |= flag::OF;
  return f;
}

// and/or/xor/test: CF = OF = 0; AF is undefined and real CPUs clear it.
template <class T>
inline uint64_t logic(T r) {
  return szp<T>(r);
}

inline void set_arith(CpuState& c, uint64_t f, uint64_t mask = flag::ARITH) {
  c.rflags = (c.rflags & ~mask) | (f & mask);
}

// Condition code evaluation (SDM Vol. 1, Appendix B).
inline bool cond(uint64_t fl, uint8_t cc) {
  bool r;
  switch (cc >> 1) {
    case 0: r = fl & flag::OF; break;
    case 1: r = fl & flag::CF; break;
    case 2: r = fl & flag::ZF; break;
    case 3: r = fl & (flag::CF | flag::ZF); break;
    case 4: r = fl & flag::SF; break;
    case 5: r = fl & flag::PF; break;
    case 6: r = bool(fl & flag::SF) != bool(fl & flag::OF); break;
    default: r = (fl & flag::ZF) || (bool(fl & flag::SF) != bool(fl & flag::OF)); break;
  }
  return (cc & 1) ? !r : r;
}

}  // namespace vireo::flags
