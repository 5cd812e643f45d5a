// XSAVE, XSAVEOPT, XSAVEC, XRSTOR (and their 64-bit-pointer forms) and XGETBV (SDM Vol. 1,
// chapter 13; Vol. 2, each instruction). The area's layout is in xsave.h.
//
// Components: x87 (0) and SSE (1) live in the 512-byte legacy region in FXSAVE layout, the
// 64-byte header follows at 512 (XSTATE_BV, XCOMP_BV, reserved), AVX (2) at 576. The
// compacted form packs the extended components in XCOMP_BV order; AVX being the first, its
// offset is the same in both forms.
#include "interp/xsave.h"

#include <Zydis/Mnemonic.h>

#include <cstring>

#include "cpu/cpuid.h"
#include "interp/dispatch.h"
#include "interp/exec.h"
#include "interp/x87_native.h"

namespace vireo::xsave {

namespace {

constexpr unsigned kXstateBv = 512, kXcompBv = 520, kReserved = 528;
constexpr uint64_t kCompacted = uint64_t(1) << 63;
// Legacy-region byte ranges: x87 is [0,24) and [32,160); MXCSR and MXCSR_MASK [24,32); XMM
// [160,416). Bytes 416..511 belong to software and are never written.
constexpr unsigned kMxcsrOff = 24, kXmmOff = 160, kXmmEnd = 416;

bool is_zero(const void* p, size_t n) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i)
    if (b[i]) return false;
  return true;
}

uint64_t get64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

void put64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }

}  // namespace

uint64_t in_use(const CpuState& c) {
  const X87State& s = c.x87;
  uint64_t r = 0;
  bool x87_init = s.fcw == 0x37F && s.fsw == 0 && s.top == 0 && s.tag_empty == 0xFF && s.fop == 0 &&
                  s.fip == 0 && s.fdp == 0;
  for (int i = 0; x87_init && i < 8; ++i) x87_init = is_zero(&s.st[i], 10);
  if (!x87_init) r |= xstate::X87;
  if (c.mxcsr != 0x1F80 || !is_zero(c.xmm, sizeof c.xmm)) r |= xstate::SSE;
  if (!is_zero(c.ymm_hi, sizeof c.ymm_hi)) r |= xstate::AVX;
  return r;
}

void init_components(CpuState& c, uint64_t mask) {
  if (mask & xstate::X87) {
    std::memset(static_cast<void*>(c.x87.st), 0, sizeof c.x87.st);  // (the init state: zeros)
    c.x87.reset();
  }
  if (mask & xstate::SSE) std::memset(static_cast<void*>(c.xmm), 0, sizeof c.xmm);
  if (mask & xstate::AVX) std::memset(static_cast<void*>(c.ymm_hi), 0, sizeof c.ymm_hi);
}

unsigned save(const CpuState& c, uint8_t* area, uint64_t rfbm, Form form, bool ptr64) {
  uint8_t legacy[x87::kStateBytes];
  x87::write_fxsave_image(c, legacy, ptr64);
  const uint64_t inuse = in_use(c);
  // XSAVE writes every requested component; XSAVEOPT and XSAVEC leave out those in their
  // initial configuration (the init optimization; SDM Vol. 1, 13.9 and 13.10).
  const uint64_t write = form == Form::Standard ? rfbm : rfbm & inuse;
  if (write & xstate::X87) {
    std::memcpy(area, legacy, kMxcsrOff);
    std::memcpy(area + 32, legacy + 32, kXmmOff - 32);
  }
  // MXCSR goes with SSE, and in the standard and optimized forms with AVX too.
  bool mxcsr = form == Form::Compacted ? (write & xstate::SSE) : (rfbm & (xstate::SSE | xstate::AVX));
  if (mxcsr) std::memcpy(area + kMxcsrOff, legacy + kMxcsrOff, 8);
  if (write & xstate::SSE) std::memcpy(area + kXmmOff, legacy + kXmmOff, kXmmEnd - kXmmOff);
  if (write & xstate::AVX)
    for (unsigned i = 0; i < 16; ++i) std::memcpy(area + xstate::kAvxOffset + 16 * i, &c.ymm_hi[i], 16);
  if (form == Form::Compacted) {
    put64(area + kXstateBv, rfbm & inuse);
    put64(area + kXcompBv, kCompacted | rfbm);  // the rest of the header is left alone
    return xsave_compacted_size(rfbm);
  }
  // XSTATE_BV: the requested bits become XINUSE, the others stay as they were.
  put64(area + kXstateBv, (get64(area + kXstateBv) & ~rfbm) | (rfbm & inuse));
  return xsave_standard_size(rfbm);
}

unsigned restore_size(const uint8_t* header, uint64_t rfbm) {
  uint64_t xcomp = get64(header + 8);
  return (xcomp & kCompacted) ? xsave_compacted_size(xcomp & ~kCompacted) : xsave_standard_size(rfbm);
}

bool restore(CpuState& c, const uint8_t* area, uint64_t rfbm, bool ptr64) {
  const uint64_t xstate_bv = get64(area + kXstateBv), xcomp_bv = get64(area + kXcompBv);
  const bool compacted = xcomp_bv & kCompacted;
  // SDM Vol. 1, 13.8: #GP for XSTATE_BV bits outside XCR0, reserved header bytes set, a
  // standard form with XCOMP_BV not 0, a compacted one whose XCOMP_BV exceeds XCR0 or does
  // not cover XSTATE_BV.
  if (xstate_bv & ~c.xcr0) return false;
  if (!is_zero(area + (compacted ? kReserved : kXcompBv), xstate::kAvxOffset - (compacted ? kReserved : kXcompBv)))
    return false;
  if (compacted && (((xcomp_bv & ~kCompacted) & ~c.xcr0) || (xstate_bv & ~xcomp_bv))) return false;

  CpuState n = c;
  uint8_t legacy[x87::kStateBytes];
  x87::write_fxsave_image(c, legacy, ptr64);  // what is not loaded stays as it is
  bool load_mxcsr = compacted ? (rfbm & xstate_bv & xstate::SSE) : (rfbm & (xstate::SSE | xstate::AVX));
  if (rfbm & xstate_bv & xstate::X87) {
    std::memcpy(legacy, area, kMxcsrOff);
    std::memcpy(legacy + 32, area + 32, kXmmOff - 32);
  }
  if (load_mxcsr) std::memcpy(legacy + kMxcsrOff, area + kMxcsrOff, 4);
  if (rfbm & xstate_bv & xstate::SSE) std::memcpy(legacy + kXmmOff, area + kXmmOff, kXmmEnd - kXmmOff);
  if (!x87::read_fxsave_image(n, legacy, ptr64)) return false;  // an illegal MXCSR
  if (!(rfbm & xstate_bv & xstate::X87)) n.x87 = c.x87;  // untouched (the 32-bit image would cut FIP)
  if (rfbm & xstate_bv & xstate::AVX)
    for (unsigned i = 0; i < 16; ++i) std::memcpy(&n.ymm_hi[i], area + xstate::kAvxOffset + 16 * i, 16);
  init_components(n, rfbm & ~xstate_bv);
  // The compacted form initializes MXCSR with SSE (the standard form loaded it above).
  if (compacted && (rfbm & ~xstate_bv & xstate::SSE)) n.mxcsr = 0x1F80;
  c.x87 = n.x87;
  c.mxcsr = n.mxcsr;
  std::memcpy(static_cast<void*>(c.xmm), n.xmm, sizeof c.xmm);
  std::memcpy(static_cast<void*>(c.ymm_hi), n.ymm_hi, sizeof c.ymm_hi);
  return true;
}

}  // namespace vireo::xsave

namespace vireo {

namespace {

// #UD unless the OS enabled XSAVE (CR4.OSXSAVE); user mode always has it when advertised.
void check_enabled(Exec& x) {
  if (!(x.cpu->cr4 & kCr4OsXsave) || !x.cpu->xcr0) x.raise_ud();
}

uint64_t area_address(Exec& x, const Insn& in) {
  if (in.nops == 0 || in.op[0].kind != OpKind::Mem) x.raise_ud();
  uint64_t la = x.linear(in, in.op[0]);
  if (la & 63) x.raise_gp(0);  // 64-byte alignment (SDM Vol. 2, XSAVE)
  return la;
}

uint64_t rfbm(Exec& x) {
  return x.cpu->xcr0 & ((x.gpr(RDX) << 32) | uint32_t(x.gpr(RAX)));
}

template <xsave::Form form>
void xsave_op(Exec& x, const Insn& in) {
  check_enabled(x);
  uint64_t la = area_address(x, in);
  uint64_t mask = rfbm(x);
  unsigned size = form == xsave::Form::Compacted ? xsave_compacted_size(mask) : xsave_standard_size(mask);
  uint8_t* p = x.host_ptr(la, size, true);  // every page checked before a byte is written
  uint8_t area[xstate::kAvxOffset + xstate::kAvxBytes];
  std::memcpy(area, p, size);
  xsave::save(*x.cpu, area, mask, form, in.prefixes & pfx::REX_W);
  std::memcpy(p, area, size);
}

void xrstor(Exec& x, const Insn& in) {
  check_enabled(x);
  uint64_t la = area_address(x, in);
  uint64_t mask = rfbm(x);
  const uint8_t* header = x.host_ptr(la + xstate::kLegacyBytes, xstate::kHeaderBytes, false);
  unsigned size = xsave::restore_size(header, mask);
  uint8_t area[xstate::kAvxOffset + xstate::kAvxBytes] = {};
  std::memcpy(area, x.host_ptr(la, size, false), size);
  if (!xsave::restore(*x.cpu, area, mask, in.prefixes & pfx::REX_W)) x.raise_gp(0);
}

// xgetbv: ECX = 0 reads XCR0, ECX = 1 reads XCR0 & XINUSE; any other ECX is #GP(0).
void xgetbv(Exec& x, const Insn&) {
  check_enabled(x);
  uint64_t v;
  switch (uint32_t(x.gpr(RCX))) {
    case 0: v = x.cpu->xcr0; break;
    case 1: v = x.cpu->xcr0 & xsave::in_use(*x.cpu); break;
    default: x.raise_gp(0);
  }
  x.set_gpr(RAX, 4, v);
  x.set_gpr(RDX, 4, v >> 32);
}

}  // namespace

void register_xsave(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_XSAVE] = xsave_op<xsave::Form::Standard>;
  t[ZYDIS_MNEMONIC_XSAVE64] = xsave_op<xsave::Form::Standard>;
  t[ZYDIS_MNEMONIC_XSAVEOPT] = xsave_op<xsave::Form::Optimized>;
  t[ZYDIS_MNEMONIC_XSAVEOPT64] = xsave_op<xsave::Form::Optimized>;
  t[ZYDIS_MNEMONIC_XSAVEC] = xsave_op<xsave::Form::Compacted>;
  t[ZYDIS_MNEMONIC_XSAVEC64] = xsave_op<xsave::Form::Compacted>;
  t[ZYDIS_MNEMONIC_XRSTOR] = xrstor;
  t[ZYDIS_MNEMONIC_XRSTOR64] = xrstor;
  t[ZYDIS_MNEMONIC_XGETBV] = xgetbv;
}

}  // namespace vireo
