// AVX floating point (VEX.128 and VEX.256): packed and scalar add/sub/mul/div/min/max, sqrt,
// rcp/rsqrt estimates, addsub, horizontal add/sub. As in sse_fp.cpp, each 128-bit half runs as
// the same SSE instruction on the host under the guest's MXCSR (sse_host.h), so results,
// NaN rules and the flags are the hardware's; the flags of both halves are merged before
// they are committed (an unmasked exception is #XM with the destination untouched).
//
// A VEX scalar form (vaddss xmm1, xmm2, xmm3/m32) is the legacy one with xmm2 as the
// destination's starting value; the 2-operand forms (vsqrtps ymm1, ymm2/m256) read only their
// source. Not advertised in CPUID yet (see avx_int.cpp).
#include <Zydis/Mnemonic.h>

#include "interp/avx_common.h"
#include "interp/dispatch.h"
#include "interp/exec.h"
#include "interp/sse_host.h"

namespace vireo {

namespace {

using avx::Ymm;
using sse::host::BinFn;

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
VIREO_SSE_BIN(addsubps, "addsubps") VIREO_SSE_BIN(addsubpd, "addsubpd")
VIREO_SSE_BIN(haddps, "haddps") VIREO_SSE_BIN(haddpd, "haddpd")
VIREO_SSE_BIN(hsubps, "hsubps") VIREO_SSE_BIN(hsubpd, "hsubpd")
}  // namespace op

template <BinFn F>
void fp(Exec& x, const Insn& in) {
  avx::check_enabled(x);
  const bool two = in.nops == 2;  // vsqrtps ymm1, ymm2/m256: no first source
  Ymm b = avx::read(x, in, in.op[two ? 1 : 2]);
  Ymm a = two ? b : avx::read(x, in, in.op[1]);
  uint32_t csr = sse::host_csr_for(x);
  F(a.lo, b.lo, csr);
  if (avx::wide(in.op[0])) F(a.hi, b.hi, csr);  // the flags accumulate in csr
  sse::commit_fp_flags(x, csr);
  avx::write(x, in, in.op[0], a);
}

}  // namespace

void register_avx_fp(DispatchTable& t) {
#define B(M, f) t[ZYDIS_MNEMONIC_##M] = &fp<&op::f>
  B(VADDPS, addps); B(VADDPD, addpd); B(VADDSS, addss); B(VADDSD, addsd);
  B(VSUBPS, subps); B(VSUBPD, subpd); B(VSUBSS, subss); B(VSUBSD, subsd);
  B(VMULPS, mulps); B(VMULPD, mulpd); B(VMULSS, mulss); B(VMULSD, mulsd);
  B(VDIVPS, divps); B(VDIVPD, divpd); B(VDIVSS, divss); B(VDIVSD, divsd);
  B(VMINPS, minps); B(VMINPD, minpd); B(VMINSS, minss); B(VMINSD, minsd);
  B(VMAXPS, maxps); B(VMAXPD, maxpd); B(VMAXSS, maxss); B(VMAXSD, maxsd);
  B(VSQRTPS, sqrtps); B(VSQRTPD, sqrtpd); B(VSQRTSS, sqrtss); B(VSQRTSD, sqrtsd);
  B(VRCPPS, rcpps); B(VRCPSS, rcpss); B(VRSQRTPS, rsqrtps); B(VRSQRTSS, rsqrtss);
  B(VADDSUBPS, addsubps); B(VADDSUBPD, addsubpd); B(VHADDPS, haddps); B(VHADDPD, haddpd);
  B(VHSUBPS, hsubps); B(VHSUBPD, hsubpd);
#undef B
}

}  // namespace vireo
