// Shared helpers for the AVX families (avx_*.cpp): YMM operands as two 128-bit halves, the
// VEX rule for the upper half, and the XCR0 check.
//
// A YMM register is xmm[i] (bits 127:0) and ymm_hi[i] (bits 255:128) in CpuState. VEX.256
// instructions write both halves; VEX.128 ones write the low half and zero the upper one;
// legacy SSE instructions leave the upper half alone (SDM Vol. 1, 14.1.3). The decoder gives a
// YMM operand RegClass::Xmm with size 32.
#pragma once

#include <cstring>

#include "cpu/cpuid.h"
#include "interp/sse_common.h"

namespace vireo::avx {

struct Ymm {
  Xmm lo, hi;
};

// AVX instructions are #UD unless the OS enabled the AVX and SSE state (XCR0[2:1] = 11b,
// CR4.OSXSAVE; SDM Vol. 1, 14.3).
inline void check_enabled(Exec& x) {
  constexpr uint64_t need = xstate::SSE | xstate::AVX;
  if ((x.cpu->xcr0 & need) != need || !(x.cpu->cr4 & kCr4OsXsave)) x.raise_ud();
}

inline bool wide(const Operand& o) { return o.size == 32; }

// memcpy of an operand's bytes with the common sizes as constants: a variable-size memcpy
// becomes `rep movsb/q`, whose start-up cost dominated glibc's AVX2 string loops.
inline void copy_sized(void* dst, const void* src, unsigned n) {
  switch (n) {
    case 32: std::memcpy(dst, src, 32); break;
    case 16: std::memcpy(dst, src, 16); break;
    case 8: std::memcpy(dst, src, 8); break;
    case 4: std::memcpy(dst, src, 4); break;
    default: std::memcpy(dst, src, n); break;
  }
}

inline unsigned reg_of(Exec& x, const Operand& o) {
  if (o.kind != OpKind::Reg || o.rclass != RegClass::Xmm) x.raise_ud();
  return o.reg;
}

// An XMM/YMM register or memory source of o.size bytes (16 or 32; smaller sizes land in the
// low bytes). `align`: the bytes the address must be a multiple of (vmovdqa and friends), or 1.
inline Ymm read(Exec& x, const Insn& in, const Operand& o, unsigned align = 1) {
  Ymm v{};
  if (o.kind == OpKind::Mem) {
    uint64_t la = x.linear(in, o);
    if (la & (align - 1)) x.raise_gp(0);
    uint8_t buf[32] = {};
    copy_sized(buf, x.host_ptr(la, o.size, false), o.size);
    std::memcpy(&v.lo, buf, 16);
    if (o.size > 16) std::memcpy(&v.hi, buf + 16, 16);
    return v;
  }
  unsigned r = reg_of(x, o);
  v.lo = x.cpu->xmm[r];
  if (wide(o)) v.hi = x.cpu->ymm_hi[r];
  return v;
}

// Writes a register destination with the VEX rule (a 128-bit destination zeroes bits 255:128),
// or o.size bytes of memory.
inline void write(Exec& x, const Insn& in, const Operand& o, const Ymm& v, unsigned align = 1) {
  if (o.kind == OpKind::Mem) {
    uint64_t la = x.linear(in, o);
    if (la & (align - 1)) x.raise_gp(0);
    uint8_t buf[32];
    std::memcpy(buf, &v.lo, 16);
    std::memcpy(buf + 16, &v.hi, 16);
    copy_sized(x.host_ptr(la, o.size, true), buf, o.size);
    return;
  }
  unsigned r = reg_of(x, o);
  x.cpu->xmm[r] = v.lo;
  x.cpu->ymm_hi[r] = wide(o) ? v.hi : Xmm{};
}

}  // namespace vireo::avx
