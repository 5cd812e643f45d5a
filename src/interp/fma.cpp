// FMA3: vfmadd/vfmsub/vfnmadd/vfnmsub (ps, pd, ss, sd) and vfmaddsub/vfmsubadd (ps, pd), each in
// the 132, 213 and 231 operand orders, VEX.128 and VEX.256.
//
// A fused multiply-add rounds once, and which NaN it returns when several operands are NaN
// depends on the operand order; both are the hardware's business, so each form runs as the
// very same instruction on the host, with the same operand roles, under the guest's MXCSR
// (sse_host.h). A 256-bit form runs as two 128-bit halves (the lanes are independent; the flags
// of both accumulate). Scalar forms keep bits 127:32 (63) of the first operand, as the host
// instruction does, and zero bits 255:128 (VEX.128 rule). An unmasked exception is #XM with the
// destination untouched (commit_fp_flags). The host must have FMA: cpuid.cpp advertises it only
// then.
#include <Zydis/Mnemonic.h>

#include "cpu/cpuid.h"
#include "interp/avx_common.h"
#include "interp/dispatch.h"
#include "interp/sse_host.h"

namespace vireo {

namespace {

using sse::host::from_m;
using sse::host::to_m;

// a = op(a, b, c) for `op c, b, a` in AT&T order (Intel: op a, b, c).
using FmaFn = void (*)(Xmm& a, const Xmm& b, const Xmm& c, uint32_t& csr);

#define VIREO_FMA(name)                                                                   \
  void name(Xmm& a, const Xmm& b, const Xmm& c, uint32_t& csr) {                          \
    __m128i av = to_m(a), bv = to_m(b), cv = to_m(c);                                     \
    uint32_t saved;                                                                       \
    asm volatile(VIREO_SSE_PROLOGUE #name " %[c], %[b], %[a]" VIREO_SSE_EPILOGUE          \
                 : [a] "+x"(av), [csr] "+m"(csr), [saved] "=m"(saved)                     \
                 : [b] "x"(bv), [c] "x"(cv));                                             \
    a = from_m(av);                                                                       \
  }
#define VIREO_FMA_ORDERS(op, ty) VIREO_FMA(op##132##ty) VIREO_FMA(op##213##ty) VIREO_FMA(op##231##ty)
#define VIREO_FMA_ALL_TYPES(op) \
  VIREO_FMA_ORDERS(op, ps) VIREO_FMA_ORDERS(op, pd) VIREO_FMA_ORDERS(op, ss) VIREO_FMA_ORDERS(op, sd)

namespace op {
VIREO_FMA_ALL_TYPES(vfmadd)
VIREO_FMA_ALL_TYPES(vfmsub)
VIREO_FMA_ALL_TYPES(vfnmadd)
VIREO_FMA_ALL_TYPES(vfnmsub)
VIREO_FMA_ORDERS(vfmaddsub, ps) VIREO_FMA_ORDERS(vfmaddsub, pd)
VIREO_FMA_ORDERS(vfmsubadd, ps) VIREO_FMA_ORDERS(vfmsubadd, pd)
}  // namespace op

#undef VIREO_FMA_ALL_TYPES
#undef VIREO_FMA_ORDERS
#undef VIREO_FMA

// Without the host instruction there is nothing to run: #UD, as a CPU without FMA (cpuid.cpp
// does not advertise it then; a guest that tries anyway must not crash Vireo).
bool host_has_fma() {
  return host_cpu().fma;
}

template <FmaFn F>
void fma(Exec& x, const Insn& in) {
  avx::check_enabled(x);
  if (!host_has_fma()) x.raise_ud();
  avx::Ymm c = avx::read(x, in, in.op[2]);  // the only operand that may be memory
  avx::Ymm b = avx::read(x, in, in.op[1]);
  avx::Ymm a = avx::read(x, in, in.op[0]);
  uint32_t csr = sse::host_csr_for(x);
  F(a.lo, b.lo, c.lo, csr);
  if (avx::wide(in.op[0])) F(a.hi, b.hi, c.hi, csr);
  sse::commit_fp_flags(x, csr);
  avx::write(x, in, in.op[0], a);
}

}  // namespace

void register_fma(DispatchTable& t) {
#define F(M, f) t[ZYDIS_MNEMONIC_##M] = &fma<&op::f>
#define ORDERS(M, m, T, ty)                                                          \
  F(M##132##T, m##132##ty); F(M##213##T, m##213##ty); F(M##231##T, m##231##ty)
#define ALL_TYPES(M, m) \
  ORDERS(M, m, PS, ps); ORDERS(M, m, PD, pd); ORDERS(M, m, SS, ss); ORDERS(M, m, SD, sd)
  ALL_TYPES(VFMADD, vfmadd);
  ALL_TYPES(VFMSUB, vfmsub);
  ALL_TYPES(VFNMADD, vfnmadd);
  ALL_TYPES(VFNMSUB, vfnmsub);
  ORDERS(VFMADDSUB, vfmaddsub, PS, ps); ORDERS(VFMADDSUB, vfmaddsub, PD, pd);
  ORDERS(VFMSUBADD, vfmsubadd, PS, ps); ORDERS(VFMSUBADD, vfmsubadd, PD, pd);
#undef ALL_TYPES
#undef ORDERS
#undef F
}

}  // namespace vireo
