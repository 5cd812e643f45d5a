// FXSAVE/FXRSTOR (and the REX.W forms FXSAVE64/FXRSTOR64): the 512-byte x87 + SSE state image
// of SDM Vol. 1, 10.5.1, Table 10-2 (64-bit layout).
#include <Zydis/Mnemonic.h>

#include <cstring>

#include "interp/exec.h"
#include "interp/memory_fault.h"
#include "interp/x87_native.h"

namespace vireo::x87 {

namespace {

constexpr unsigned kImageBytes = 512;

// MXCSR_MASK as the host reports it (SDM Vol. 1, 11.6.6): the bits FXRSTOR/LDMXCSR accept.
// A zero mask means the default 0000FFBFH (processors without DAZ).
uint32_t mxcsr_mask() {
  static const uint32_t mask = [] {
    alignas(16) uint8_t img[512];
    asm volatile("fxsave64 %0" : "=m"(img));
    uint32_t m;
    std::memcpy(&m, img + 28, 4);
    return m ? m : 0xFFBFu;
  }();
  return mask;
}

uint64_t image_address(Exec& x, const Insn& in) {
  if (in.nops == 0 || in.op[0].kind != OpKind::Mem) x.raise_ud();
  uint64_t la = x.linear(in, in.op[0]);
  // A non-canonical image is the access's #GP or #SS (through rSP/rBP), before alignment.
  if (x.mem.limit && !is_canonical(la)) {
    const Operand& o = in.op[0];
    const bool stack = (o.base == RSP || o.base == RBP) && o.seg != SEG_FS && o.seg != SEG_GS;
    x.raise(stack ? VEC_SS : VEC_GP, 0, true);
  }
  if (la & 15) x.raise_gp(0);  // the image must be 16-byte aligned (SDM Vol. 2, FXSAVE)
  return la;
}

void fxsave(Exec& x, const Insn& in) {
  uint64_t la = image_address(x, in);
  uint8_t img[kStateBytes];
  write_fxsave_image(*x.cpu, img, in.prefixes & pfx::REX_W);
  std::memcpy(x.image_ptr(la, kImageBytes, true, true), img, kStateBytes);
}

void fxrstor(Exec& x, const Insn& in) {
  uint64_t la = image_address(x, in);
  uint8_t img[kStateBytes];
  std::memcpy(img, x.image_ptr(la, kImageBytes, false, true), kStateBytes);
  if (!read_fxsave_image(*x.cpu, img, in.prefixes & pfx::REX_W))
    x.raise_gp(0);  // reserved MXCSR bits (SDM Vol. 2, FXRSTOR)
}

}  // namespace

void write_fxsave_image(const CpuState& c, uint8_t* img, bool ptr64) {
  const X87State& s = c.x87;
  std::memset(img, 0, kStateBytes);
  auto put16 = [&](unsigned off, uint16_t v) { std::memcpy(img + off, &v, 2); };
  auto put32 = [&](unsigned off, uint32_t v) { std::memcpy(img + off, &v, 4); };
  put16(0, s.fcw);
  put16(2, status_word(s));
  img[4] = uint8_t(~s.tag_empty);  // abridged tag word: 1 = not empty
  put16(6, s.fop & 0x7FF);
  if (ptr64) {
    std::memcpy(img + 8, &s.fip, 8);
    std::memcpy(img + 16, &s.fdp, 8);
  } else {
    // 32-bit pointer offsets; the FCS/FDS selectors are stored as zero, as processors that
    // deprecate them do (CPUID.(EAX=07H,ECX=0):EBX[13]).
    put32(8, uint32_t(s.fip));
    put32(16, uint32_t(s.fdp));
  }
  put32(24, c.mxcsr);
  put32(28, mxcsr_mask());
  for (unsigned i = 0; i < 8; ++i) std::memcpy(img + 32 + 16 * i, &s.st[(s.top + i) & 7], 10);
  for (unsigned i = 0; i < 16; ++i) std::memcpy(img + 160 + 16 * i, &c.xmm[i], 16);
}

bool read_fxsave_image(CpuState& c, const uint8_t* img, bool ptr64) {
  uint32_t mxcsr;
  std::memcpy(&mxcsr, img + 24, 4);
  if (mxcsr & ~mxcsr_mask()) return false;
  X87State& s = c.x87;
  uint16_t fcw, fsw, fop;
  std::memcpy(&fcw, img + 0, 2);
  std::memcpy(&fsw, img + 2, 2);
  std::memcpy(&fop, img + 6, 2);
  s.fcw = uint16_t((fcw & 0x1F3F) | 0x40);
  s.tag_empty = uint8_t(~img[4]);
  s.fop = fop & 0x7FF;
  if (ptr64) {
    std::memcpy(&s.fip, img + 8, 8);
    std::memcpy(&s.fdp, img + 16, 8);
  } else {
    uint32_t fip, fdp;
    std::memcpy(&fip, img + 8, 4);
    std::memcpy(&fdp, img + 16, 4);
    s.fip = fip;
    s.fdp = fdp;
  }
  set_status_word(s, fsw);
  for (unsigned i = 0; i < 8; ++i) std::memcpy(&s.st[(s.top + i) & 7], img + 32 + 16 * i, 10);
  c.mxcsr = mxcsr;
  for (unsigned i = 0; i < 16; ++i) std::memcpy(&c.xmm[i], img + 160 + 16 * i, 16);
  return true;
}

void register_fxsave(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_FXSAVE] = fxsave;
  t[ZYDIS_MNEMONIC_FXSAVE64] = fxsave;
  t[ZYDIS_MNEMONIC_FXRSTOR] = fxrstor;
  t[ZYDIS_MNEMONIC_FXRSTOR64] = fxrstor;
}

}  // namespace vireo::x87
