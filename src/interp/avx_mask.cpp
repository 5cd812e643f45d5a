// AVX/AVX2 instructions whose memory access depends on the data, so that they cannot run on
// the host against one buffer (avx_host.h): the masked moves (vmaskmovps/pd, vpmaskmovd/q),
// the gathers (vgatherdps .. vpgatherqq), and the VEX forms of legacy instructions that
// touch memory through an implicit operand or the MXCSR (vmaskmovdqu, vldmxcsr, vstmxcsr).
#include <Zydis/Zydis.h>

#include <cstring>

#include "cpu/host_quirks.h"
#include "interp/avx_common.h"
#include "interp/dispatch.h"
#include "interp/exec.h"

namespace vireo {

namespace {

using avx::Ymm;

bool element_on(const uint8_t* mask, unsigned i, unsigned esize) {
  return mask[i * esize + esize - 1] & 0x80;  // the element's sign bit
}

// vmaskmovps/pd, vpmaskmovd/q (SDM Vol. 2, VMASKMOV and VPMASKMOV). A load returns zero in the
// elements whose mask sign bit is clear; a store leaves memory there alone. Elements whose mask
// is clear never fault, whatever their address: each enabled element is accessed on its own.
template <unsigned Esize>
void maskmov(Exec& x, const Insn& in) {
  avx::check_enabled(x);
  const bool store = in.op[0].kind == OpKind::Mem;
  const Operand& mem = store ? in.op[0] : in.op[2];
  const Operand& other = store ? in.op[2] : in.op[0];
  const unsigned size = other.size;  // 16 or 32
  Ymm mv = avx::read(x, in, in.op[1]);
  uint8_t mask[32];
  std::memcpy(mask, &mv.lo, 16);
  std::memcpy(mask + 16, &mv.hi, 16);
  const uint64_t la = x.linear(in, mem);
  const unsigned n = size / Esize;
  if (!store) {
    uint8_t out[32] = {};
    for (unsigned i = 0; i < n; ++i)
      if (element_on(mask, i, Esize))
        std::memcpy(out + i * Esize, x.host_ptr(la + i * Esize, Esize, false), Esize);
    Ymm r{};
    std::memcpy(&r.lo, out, 16);
    std::memcpy(&r.hi, out + 16, 16);
    avx::write(x, in, in.op[0], r);
    return;
  }
  Ymm v = avx::read(x, in, in.op[2]);
  uint8_t src[32];
  std::memcpy(src, &v.lo, 16);
  std::memcpy(src + 16, &v.hi, 16);
  uint8_t* dst[8] = {};
  for (unsigned i = 0; i < n; ++i)  // every enabled element is writable before any is written
    if (element_on(mask, i, Esize)) {
      const uint64_t a = la + i * Esize;
      dst[i] = x.host_ptr(a, Esize, true);
      x.probe_write(a);  // host_ptr checks only the window: touch the page itself
    }
  for (unsigned i = 0; i < n; ++i)
    if (dst[i]) std::memcpy(dst[i], src + i * Esize, Esize);
}

// The gathers (SDM Vol. 2, VGATHERDPS/VGATHERDPD/VGATHERQPS/VGATHERQPD, VPGATHERDD/..QQ):
// element j is loaded from base + sign_extend(index[j]) * scale + disp if the sign bit of
// mask[j] is set; each element's mask is cleared as it completes (loaded or not, in order), so
// that a fault on element j leaves elements 0..j-1 done and their masks zero. Elements j.. keep
// their masks as they were on some hosts (AMD Zen); others (Intel's) leave all ones in each
// pending element's mask and zero in each masked-off one (cpu/host_quirks.h probes it; the
// SDM leaves it open; Engines/AvxComplete.GatherFaultStateMatchesHost checks it). At the end
// the whole mask register is zero, and the destination bits above the gathered elements are
// zero. The index register is a vector (VSIB), which Insn does not keep: the instruction is
// decoded again for it.
template <unsigned Esize, unsigned Isize>
void gather(Exec& x, const Insn& in) {
  avx::check_enabled(x);
  ZydisDecoder dec;
  if (x.legacy_segments)
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
  else
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  ZydisDecodedInstruction zi;
  ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
  if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, in.bytes, in.len, &zi, zo)) ||
      zo[1].type != ZYDIS_OPERAND_TYPE_MEMORY)
    x.raise_ud();
  const unsigned d = avx::reg_of(x, in.op[0]), m = avx::reg_of(x, in.op[2]);
  const unsigned idx = unsigned(ZydisRegisterGetId(zo[1].mem.index));
  // #UD if any two of destination, index and mask are the same register.
  if (d == m || d == idx || m == idx) x.raise_ud();
  const bool l256 = zi.avx.vector_length == 256;
  const unsigned n = (l256 ? 32 : 16) / (Esize > Isize ? Esize : Isize);
  CpuState& c = *x.cpu;
  uint8_t index[32], mask[32], dest[32];
  std::memcpy(index, &c.xmm[idx], 16);
  std::memcpy(index + 16, &c.ymm_hi[idx], 16);
  std::memcpy(mask, &c.xmm[m], 16);
  std::memcpy(mask + 16, &c.ymm_hi[m], 16);
  std::memcpy(dest, &c.xmm[d], 16);
  std::memcpy(dest + 16, &c.ymm_hi[d], 16);
  // Bits of the destination and mask above the n elements are zeroed (a VEX.128 destination,
  // or the xmm destination of the qps/qd forms).
  const unsigned used = n * Esize;
  std::memset(dest + used, 0, 32 - used);
  std::memset(mask + used, 0, 32 - used);
  static const bool normalize = host_gather_fault_normalizes_mask();
  if (normalize)  // (the sign bits decide which elements load: they are kept)
    for (unsigned j = 0; j < n; ++j) std::memset(mask + j * Esize, element_on(mask, j, Esize) ? 0xFF : 0, Esize);
  auto commit = [&] {
    std::memcpy(&c.xmm[d], dest, 16);
    std::memcpy(&c.ymm_hi[d], dest + 16, 16);
    std::memcpy(&c.xmm[m], mask, 16);
    std::memcpy(&c.ymm_hi[m], mask + 16, 16);
  };
  const Operand& o = in.op[1];
  const uint64_t seg = o.seg == kNoReg ? 0 : x.seg_base(o.seg);
  uint64_t base = uint64_t(o.disp) + (o.base != kNoReg ? c.gpr[o.base] : 0);
  for (unsigned j = 0; j < n; ++j) {
    if (!element_on(mask, j, Esize)) {  // cleared in order too: the host's state at a fault
      std::memset(mask + j * Esize, 0, Esize);
      continue;
    }
    int64_t i;
    if (Isize == 4) {
      int32_t v;
      std::memcpy(&v, index + j * 4, 4);
      i = v;
    } else {
      std::memcpy(&i, index + j * 8, 8);
    }
    uint64_t a = base + uint64_t(i) * o.scale;
    if (in.addrsize == 4) a = uint32_t(a);
    a += seg;
    uint8_t v[8];
    commit();  // the load may fault: elements 0..j-1 stay done, the rest keep their mask
    if (Esize == 4) {
      uint32_t e = x.load<uint32_t>(a);
      std::memcpy(v, &e, 4);
    } else {
      uint64_t e = x.load<uint64_t>(a);
      std::memcpy(v, &e, 8);
    }
    std::memcpy(dest + j * Esize, v, Esize);
    std::memset(mask + j * Esize, 0, Esize);
  }
  std::memset(mask, 0, 32);
  commit();
}

// The VEX forms of legacy instructions without a vector destination: the legacy handler after
// the AVX enable check (SDM Vol. 2: VLDMXCSR, VSTMXCSR, VMASKMOVDQU).
Handler legacy_ldmxcsr, legacy_stmxcsr, legacy_maskmovdqu;
void vldmxcsr(Exec& x, const Insn& in) { avx::check_enabled(x); legacy_ldmxcsr(x, in); }
void vstmxcsr(Exec& x, const Insn& in) { avx::check_enabled(x); legacy_stmxcsr(x, in); }
void vmaskmovdqu(Exec& x, const Insn& in) { avx::check_enabled(x); legacy_maskmovdqu(x, in); }

}  // namespace

void register_avx_mask(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_VMASKMOVPS] = &maskmov<4>;
  t[ZYDIS_MNEMONIC_VMASKMOVPD] = &maskmov<8>;
  t[ZYDIS_MNEMONIC_VPMASKMOVD] = &maskmov<4>;
  t[ZYDIS_MNEMONIC_VPMASKMOVQ] = &maskmov<8>;
  t[ZYDIS_MNEMONIC_VGATHERDPS] = &gather<4, 4>;
  t[ZYDIS_MNEMONIC_VPGATHERDD] = &gather<4, 4>;
  t[ZYDIS_MNEMONIC_VGATHERDPD] = &gather<8, 4>;
  t[ZYDIS_MNEMONIC_VPGATHERDQ] = &gather<8, 4>;
  t[ZYDIS_MNEMONIC_VGATHERQPS] = &gather<4, 8>;
  t[ZYDIS_MNEMONIC_VPGATHERQD] = &gather<4, 8>;
  t[ZYDIS_MNEMONIC_VGATHERQPD] = &gather<8, 8>;
  t[ZYDIS_MNEMONIC_VPGATHERQQ] = &gather<8, 8>;
  legacy_ldmxcsr = t[ZYDIS_MNEMONIC_LDMXCSR];
  legacy_stmxcsr = t[ZYDIS_MNEMONIC_STMXCSR];
  legacy_maskmovdqu = t[ZYDIS_MNEMONIC_MASKMOVDQU];
  t[ZYDIS_MNEMONIC_VLDMXCSR] = &vldmxcsr;
  t[ZYDIS_MNEMONIC_VSTMXCSR] = &vstmxcsr;
  t[ZYDIS_MNEMONIC_VMASKMOVDQU] = &vmaskmovdqu;
}

}  // namespace vireo
