// SSE/SSE2/SSE3/SSE4.1 floating point: arithmetic, min/max, sqrt, reciprocal estimates,
// compares (cmp*, comi*, ucomi*), conversions, horizontal ops, rounding and dot products.
//
// Every operation runs as the same instruction on the host under the guest's MXCSR (see
// sse_host.h), so rounding, FTZ/DAZ, NaN propagation, MIN/MAX operand order, the
// integer-indefinite value of failed conversions and the rcp/rsqrt approximations are exactly
// the hardware's. Memory operands are read first (they may fault), then the host runs the
// register form on the loaded value.
#include <Zydis/Mnemonic.h>

#include <utility>

#include "interp/dispatch.h"
#include "interp/exec.h"
#include "interp/sse_common.h"
#include "interp/sse_dispatch_shared.h"
#include "interp/sse_host.h"

namespace vireo {

namespace {

using namespace sse;
using host::BinFn;

// ---- host operations ----
namespace op {
VIREO_SSE_BIN(addps, "addps") VIREO_SSE_BIN(addpd, "addpd")
VIREO_SSE_BIN(addss, "addss") VIREO_SSE_BIN(addsd, "addsd")
VIREO_SSE_BIN(subps, "subps") VIREO_SSE_BIN(subpd, "subpd")
VIREO_SSE_BIN(subss, "subss") VIREO_SSE_BIN(subsd, "subsd")
VIREO_SSE_BIN(mulps, "mulps") VIREO_SSE_BIN(mulpd, "mulpd")
VIREO_SSE_BIN(mulss, "mulss") VIREO_SSE_BIN(mulsd, "mulsd")
VIREO_SSE_BIN(divps, "divps") VIREO_SSE_BIN(divpd, "divpd")
VIREO_SSE_BIN(divss, "divss") VIREO_SSE_BIN(divsd, "divsd")
VIREO_SSE_BIN(minps, "minps") VIREO_SSE_BIN(minpd, "minpd")
VIREO_SSE_BIN(minss, "minss") VIREO_SSE_BIN(minsd, "minsd")
VIREO_SSE_BIN(maxps, "maxps") VIREO_SSE_BIN(maxpd, "maxpd")
VIREO_SSE_BIN(maxss, "maxss") VIREO_SSE_BIN(maxsd, "maxsd")
VIREO_SSE_BIN(sqrtps, "sqrtps") VIREO_SSE_BIN(sqrtpd, "sqrtpd")
VIREO_SSE_BIN(sqrtss, "sqrtss") VIREO_SSE_BIN(sqrtsd, "sqrtsd")
VIREO_SSE_BIN(rcpps, "rcpps") VIREO_SSE_BIN(rcpss, "rcpss")
VIREO_SSE_BIN(rsqrtps, "rsqrtps") VIREO_SSE_BIN(rsqrtss, "rsqrtss")
// xmm <- xmm/mem conversions
VIREO_SSE_BIN(cvtps2pd, "cvtps2pd") VIREO_SSE_BIN(cvtpd2ps, "cvtpd2ps")
VIREO_SSE_BIN(cvtdq2ps, "cvtdq2ps") VIREO_SSE_BIN(cvtps2dq, "cvtps2dq")
VIREO_SSE_BIN(cvttps2dq, "cvttps2dq") VIREO_SSE_BIN(cvtdq2pd, "cvtdq2pd")
VIREO_SSE_BIN(cvtpd2dq, "cvtpd2dq") VIREO_SSE_BIN(cvttpd2dq, "cvttpd2dq")
VIREO_SSE_BIN(cvtss2sd, "cvtss2sd") VIREO_SSE_BIN(cvtsd2ss, "cvtsd2ss")
// SSE3
VIREO_SSE_BIN(addsubps, "addsubps") VIREO_SSE_BIN(addsubpd, "addsubpd")
VIREO_SSE_BIN(haddps, "haddps") VIREO_SSE_BIN(haddpd, "haddpd")
VIREO_SSE_BIN(hsubps, "hsubps") VIREO_SSE_BIN(hsubpd, "hsubpd")

VIREO_SSE_COMI(comiss, "comiss") VIREO_SSE_COMI(ucomiss, "ucomiss")
VIREO_SSE_COMI(comisd, "comisd") VIREO_SSE_COMI(ucomisd, "ucomisd")

VIREO_SSE_TO_GPR(cvtss2si32, "cvtss2si", int32_t) VIREO_SSE_TO_GPR(cvtss2si64, "cvtss2si", int64_t)
VIREO_SSE_TO_GPR(cvttss2si32, "cvttss2si", int32_t)
VIREO_SSE_TO_GPR(cvttss2si64, "cvttss2si", int64_t)
VIREO_SSE_TO_GPR(cvtsd2si32, "cvtsd2si", int32_t) VIREO_SSE_TO_GPR(cvtsd2si64, "cvtsd2si", int64_t)
VIREO_SSE_TO_GPR(cvttsd2si32, "cvttsd2si", int32_t)
VIREO_SSE_TO_GPR(cvttsd2si64, "cvttsd2si", int64_t)

VIREO_SSE_FROM_GPR(cvtsi2ss32, "cvtsi2ssl", int32_t)
VIREO_SSE_FROM_GPR(cvtsi2ss64, "cvtsi2ssq", int64_t)
VIREO_SSE_FROM_GPR(cvtsi2sd32, "cvtsi2sdl", int32_t)
VIREO_SSE_FROM_GPR(cvtsi2sd64, "cvtsi2sdq", int64_t)
}  // namespace op

// d = op(d, s) for xmm, xmm/mem forms.
template <BinFn F>
void fp_bin(Exec& x, const Insn& in) {
  Xmm s = read_src(x, in, in.op[1]);
  Xmm d = xreg(x, in.op[0]);
  uint32_t csr = host_csr_for(x);
  F(d, s, csr);
  commit_fp_flags(x, csr);
  xreg(x, in.op[0]) = d;
}

// Immediate forms: the instruction encodes its immediate, so each value has its own host
// function; `Mask` keeps only the immediate bits the instruction defines.
template <template <int> class Pick, int Mask>
void fp_bin_imm(Exec& x, const Insn& in) {
  static constexpr auto table = host::imm_table<Pick>(std::make_index_sequence<Mask + 1>());
  Xmm s = read_src(x, in, in.op[1]);
  Xmm d = xreg(x, in.op[0]);
  uint32_t csr = host_csr_for(x);
  table[in.op[2].disp & Mask](d, s, csr);
  commit_fp_flags(x, csr);
  xreg(x, in.op[0]) = d;
}

#define PICK(member)                                                              \
  template <int I>                                                                \
  struct Pick_##member {                                                          \
    static constexpr BinFn fn = &host::WithImm<I>::member;                        \
  };
PICK(cmpps) PICK(cmppd) PICK(cmpss) PICK(cmpsd)
PICK(roundps) PICK(roundpd) PICK(roundss) PICK(roundsd) PICK(dpps) PICK(dppd)
#undef PICK

// comiss/ucomiss/comisd/ucomisd: ZF PF CF from the compare, OF SF AF cleared.
template <uint64_t (*F)(const Xmm&, const Xmm&, uint32_t&)>
void fp_comi(Exec& x, const Insn& in) {
  Xmm s = read_src(x, in, in.op[1]);
  Xmm d = xreg(x, in.op[0]);
  uint32_t csr = host_csr_for(x);
  uint64_t f = F(d, s, csr);
  commit_fp_flags(x, csr);
  x.cpu->rflags = (x.cpu->rflags & ~flag::ARITH) | f;
}

// cvt(t)ss2si / cvt(t)sd2si: the destination GPR width picks the 32- or 64-bit form.
template <int32_t (*F32)(const Xmm&, uint32_t&), int64_t (*F64)(const Xmm&, uint32_t&)>
void fp_to_gpr(Exec& x, const Insn& in) {
  Xmm s = read_src(x, in, in.op[1]);
  uint32_t csr = host_csr_for(x);
  uint64_t r = in.op[0].size == 8 ? uint64_t(F64(s, csr)) : uint64_t(uint32_t(F32(s, csr)));
  commit_fp_flags(x, csr);
  x.set_gpr(in.op[0].reg, in.op[0].size, r);
}

// cvtsi2ss / cvtsi2sd from a 32- or 64-bit GPR or memory integer.
template <void (*F32)(Xmm&, int32_t, uint32_t&), void (*F64)(Xmm&, int64_t, uint32_t&)>
void fp_from_gpr(Exec& x, const Insn& in) {
  uint64_t v = x.read(in, in.op[1]);
  Xmm d = xreg(x, in.op[0]);
  uint32_t csr = host_csr_for(x);
  if (in.op[1].size == 8) F64(d, int64_t(v), csr);
  else F32(d, int32_t(uint32_t(v)), csr);
  commit_fp_flags(x, csr);
  xreg(x, in.op[0]) = d;
}

}  // namespace

// CMPSD xmm, xmm/m64, imm8 (forwarded by the string family, which owns the mnemonic).
void sse_cmpsd(Exec& x, const Insn& in) { fp_bin_imm<Pick_cmpsd, 7>(x, in); }

void register_sse_fp(DispatchTable& t) {
  // Mnemonic enum names are upper case, host functions lower case; spell each pair out.
#define B(M, f) t[ZYDIS_MNEMONIC_##M] = &fp_bin<&op::f>
  B(ADDPS, addps); B(ADDPD, addpd); B(ADDSS, addss); B(ADDSD, addsd);
  B(SUBPS, subps); B(SUBPD, subpd); B(SUBSS, subss); B(SUBSD, subsd);
  B(MULPS, mulps); B(MULPD, mulpd); B(MULSS, mulss); B(MULSD, mulsd);
  B(DIVPS, divps); B(DIVPD, divpd); B(DIVSS, divss); B(DIVSD, divsd);
  B(MINPS, minps); B(MINPD, minpd); B(MINSS, minss); B(MINSD, minsd);
  B(MAXPS, maxps); B(MAXPD, maxpd); B(MAXSS, maxss); B(MAXSD, maxsd);
  B(SQRTPS, sqrtps); B(SQRTPD, sqrtpd); B(SQRTSS, sqrtss); B(SQRTSD, sqrtsd);
  B(RCPPS, rcpps); B(RCPSS, rcpss); B(RSQRTPS, rsqrtps); B(RSQRTSS, rsqrtss);
  B(CVTPS2PD, cvtps2pd); B(CVTPD2PS, cvtpd2ps); B(CVTDQ2PS, cvtdq2ps);
  B(CVTPS2DQ, cvtps2dq); B(CVTTPS2DQ, cvttps2dq); B(CVTDQ2PD, cvtdq2pd);
  B(CVTPD2DQ, cvtpd2dq); B(CVTTPD2DQ, cvttpd2dq); B(CVTSS2SD, cvtss2sd);
  B(CVTSD2SS, cvtsd2ss);
  B(ADDSUBPS, addsubps); B(ADDSUBPD, addsubpd); B(HADDPS, haddps); B(HADDPD, haddpd);
  B(HSUBPS, hsubps); B(HSUBPD, hsubpd);
#undef B
  t[ZYDIS_MNEMONIC_CMPPS] = &fp_bin_imm<Pick_cmpps, 7>;
  t[ZYDIS_MNEMONIC_CMPPD] = &fp_bin_imm<Pick_cmppd, 7>;
  t[ZYDIS_MNEMONIC_CMPSS] = &fp_bin_imm<Pick_cmpss, 7>;
  // CMPSD belongs to the string family, which forwards here (sse_dispatch_shared.h); until it
  // does, take the entry only if nobody has registered it.
  if (t[ZYDIS_MNEMONIC_CMPSD] == t[ZYDIS_MNEMONIC_INVALID]) t[ZYDIS_MNEMONIC_CMPSD] = &sse_cmpsd;
  t[ZYDIS_MNEMONIC_ROUNDPS] = &fp_bin_imm<Pick_roundps, 15>;
  t[ZYDIS_MNEMONIC_ROUNDPD] = &fp_bin_imm<Pick_roundpd, 15>;
  t[ZYDIS_MNEMONIC_ROUNDSS] = &fp_bin_imm<Pick_roundss, 15>;
  t[ZYDIS_MNEMONIC_ROUNDSD] = &fp_bin_imm<Pick_roundsd, 15>;
  t[ZYDIS_MNEMONIC_DPPS] = &fp_bin_imm<Pick_dpps, 255>;
  t[ZYDIS_MNEMONIC_DPPD] = &fp_bin_imm<Pick_dppd, 255>;

  t[ZYDIS_MNEMONIC_COMISS] = &fp_comi<&op::comiss>;
  t[ZYDIS_MNEMONIC_UCOMISS] = &fp_comi<&op::ucomiss>;
  t[ZYDIS_MNEMONIC_COMISD] = &fp_comi<&op::comisd>;
  t[ZYDIS_MNEMONIC_UCOMISD] = &fp_comi<&op::ucomisd>;

  t[ZYDIS_MNEMONIC_CVTSS2SI] = &fp_to_gpr<&op::cvtss2si32, &op::cvtss2si64>;
  t[ZYDIS_MNEMONIC_CVTTSS2SI] = &fp_to_gpr<&op::cvttss2si32, &op::cvttss2si64>;
  t[ZYDIS_MNEMONIC_CVTSD2SI] = &fp_to_gpr<&op::cvtsd2si32, &op::cvtsd2si64>;
  t[ZYDIS_MNEMONIC_CVTTSD2SI] = &fp_to_gpr<&op::cvttsd2si32, &op::cvttsd2si64>;
  t[ZYDIS_MNEMONIC_CVTSI2SS] = &fp_from_gpr<&op::cvtsi2ss32, &op::cvtsi2ss64>;
  t[ZYDIS_MNEMONIC_CVTSI2SD] = &fp_from_gpr<&op::cvtsi2sd32, &op::cvtsi2sd64>;
}

}  // namespace vireo
