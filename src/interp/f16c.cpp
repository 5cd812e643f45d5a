// F16C: vcvtph2ps (half to single) and vcvtps2ph (single to half, rounding from imm8[1:0], or
// from MXCSR.RC when imm8[2] is set), VEX.128 and VEX.256. As the SSE floating-point families
// do (sse_host.h), each conversion runs as the same instruction on the host under the guest's
// MXCSR, so rounding, NaN quieting, DAZ/FTZ behaviour and the exception flags are the
// hardware's; an unmasked exception is #XM with the destination untouched (commit_fp_flags).
// The host must have F16C: cpuid.cpp advertises it only then.
#include <Zydis/Mnemonic.h>

#include <array>
#include <cstring>
#include <utility>

#include "cpu/cpuid.h"
#include "cpu/host_quirks.h"
#include "interp/avx_common.h"
#include "interp/dispatch.h"
#include "interp/sse_host.h"

namespace vireo {

namespace {

using sse::host::from_m;
using sse::host::to_m;

// 4 halves (bits 63:0 of s) -> 4 singles.
Xmm ph2ps(const Xmm& s, uint32_t& csr) {
  __m128i sv = to_m(s), dv;
  uint32_t saved;
  asm volatile(VIREO_SSE_PROLOGUE "vcvtph2ps %[s], %[d]" VIREO_SSE_EPILOGUE
               : [d] "=x"(dv), [csr] "+m"(csr), [saved] "=m"(saved)
               : [s] "x"(sv));
  return from_m(dv);
}

// 4 singles -> 4 halves in bits 63:0 (bits 127:64 zero). imm8 bits 7:3 are ignored by the
// hardware, so only the low three select an instantiation.
using Ps2PhFn = Xmm (*)(const Xmm&, uint32_t&);
template <int Imm>
Xmm ps2ph(const Xmm& s, uint32_t& csr) {
  __m128i sv = to_m(s), dv;
  uint32_t saved;
  asm volatile(VIREO_SSE_PROLOGUE "vcvtps2ph %[i], %[s], %[d]" VIREO_SSE_EPILOGUE
               : [d] "=x"(dv), [csr] "+m"(csr), [saved] "=m"(saved)
               : [s] "x"(sv), [i] "i"(Imm));
  return from_m(dv);
}
template <size_t... I>
constexpr std::array<Ps2PhFn, sizeof...(I)> ps2ph_table(std::index_sequence<I...>) {
  return {&ps2ph<int(I)>...};
}
constexpr auto kPs2Ph = ps2ph_table(std::make_index_sequence<8>());

// Without the host instruction there is nothing to run: #UD, as a CPU without F16C (cpuid.cpp
// does not advertise it then; a guest that tries anyway must not crash Vireo).
void check_host(Exec& x) {
  if (!host_cpu().f16c) x.raise_ud();
}

// vcvtph2ps xmm1, xmm2/m64 | ymm1, xmm2/m128
void vcvtph2ps(Exec& x, const Insn& in) {
  avx::check_enabled(x);
  check_host(x);
  avx::Ymm s = avx::read(x, in, in.op[1]);
  uint32_t csr = sse::host_csr_for(x);
  avx::Ymm r{};
  r.lo = ph2ps(s.lo, csr);
  if (avx::wide(in.op[0])) r.hi = ph2ps(sse::pack<uint64_t>({sse::lanes<uint64_t>(s.lo)[1], 0}), csr);
  sse::commit_fp_flags(x, csr);
  avx::write(x, in, in.op[0], r);
}

// vcvtps2ph xmm1/m64, xmm2, imm8 | xmm1/m128, ymm2, imm8
void vcvtps2ph(Exec& x, const Insn& in) {
  avx::check_enabled(x);
  check_host(x);
  avx::Ymm s = avx::read(x, in, in.op[1]);
  // A memory destination that faults writes nothing (not even the bytes on a first page that
  // is writable) and, depending on the host, faults before or after MXCSR records the
  // conversion's flags (cpu/host_quirks.h; the SDM does not order them): probe it first or
  // after committing them.
  static const bool flags_first = host_f16c_store_fault_keeps_mxcsr_flags();
  auto probe_destination = [&] {
    if (in.op[0].kind != OpKind::Mem) return;
    const uint64_t la = x.linear(in, in.op[0]);
    x.probe_write(la);  // a read-only first page, too
    x.host_ptr(la, in.op[0].size, true);
  };
  if (!flags_first) probe_destination();
  const Ps2PhFn f = kPs2Ph[in.op[2].disp & 7];
  uint32_t csr = sse::host_csr_for(x);
  uint64_t lo = sse::lanes<uint64_t>(f(s.lo, csr))[0], hi = 0;
  if (avx::wide(in.op[1])) hi = sse::lanes<uint64_t>(f(s.hi, csr))[0];
  sse::commit_fp_flags(x, csr);
  if (flags_first) probe_destination();
  avx::Ymm r{};
  r.lo = sse::pack<uint64_t>({lo, hi});
  // A register destination is always an XMM register (VEX.128 rule: bits 255:128 zeroed); a
  // memory one takes 8 or 16 bytes (the operand's size).
  avx::write(x, in, in.op[0], r);
}

}  // namespace

void register_f16c(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_VCVTPH2PS] = &vcvtph2ps;
  t[ZYDIS_MNEMONIC_VCVTPS2PH] = &vcvtps2ph;
}

}  // namespace vireo
