// AVX/AVX2 packed-integer instructions (VEX.128 and VEX.256): the SSE2/SSE4 lane operations of
// sse_int_ops.h run on each 128-bit half, plus vpmovmskb, vptest and vpbroadcast*.
//
// Not advertised in CPUID yet: AVX/AVX2 are incomplete (docs/difftest.md lists what exists).
// Every handler checks XCR0 first, so with Vireo's XCR0 (x87|SSE) they are #UD, as on a CPU
// whose OS did not enable AVX.
#include <Zydis/Mnemonic.h>

#include "cpu/flags.h"
#include "interp/avx_common.h"
#include "interp/dispatch.h"
#include "interp/exec.h"
#include "interp/sse_int_ops.h"

namespace vireo {

namespace {

using avx::Ymm;

// d = F(s1, s2) per 128-bit half: vpaddb ymm1, ymm2, ymm3/m256 and the 128-bit forms.
template <Xmm (*F)(const Xmm&, const Xmm&)>
void binary(Exec& x, const Insn& in) {
  avx::check_enabled(x);
  Ymm b = avx::read(x, in, in.op[2]);  // memory first: a fault leaves the registers alone
  Ymm a = avx::read(x, in, in.op[1]);
  Ymm r{F(a.lo, b.lo), avx::wide(in.op[0]) ? F(a.hi, b.hi) : Xmm{}};
  avx::write(x, in, in.op[0], r);
}

// vpmovmskb r32, xmm/ymm: the sign bit of each byte.
void vpmovmskb(Exec& x, const Insn& in) {
  avx::check_enabled(x);
  Ymm v = avx::read(x, in, in.op[1]);
  uint32_t m = 0;
  for (int i = 0; i < 16; ++i) m |= uint32_t(v.lo.u8[i] >> 7) << i;
  if (avx::wide(in.op[1]))
    for (int i = 0; i < 16; ++i) m |= uint32_t(v.hi.u8[i] >> 7) << (16 + i);
  x.set_gpr(in.op[0].reg, 8, m);  // the 32- or 64-bit destination is zero-extended
}

// vptest: ZF = (a & b) == 0, CF = (~a & b) == 0 over the whole width; OF, SF, AF, PF cleared.
void vptest(Exec& x, const Insn& in) {
  avx::check_enabled(x);
  Ymm b = avx::read(x, in, in.op[1]);
  Ymm a = avx::read(x, in, in.op[0]);
  uint64_t andv = 0, andn = 0;
  for (int k = 0; k < 2; ++k) {
    andv |= (a.lo.u64[k] & b.lo.u64[k]) | (a.hi.u64[k] & b.hi.u64[k]);
    andn |= (~a.lo.u64[k] & b.lo.u64[k]) | (~a.hi.u64[k] & b.hi.u64[k]);
  }
  flags::set_arith(*x.cpu, (andv == 0 ? flag::ZF : 0) | (andn == 0 ? flag::CF : 0));
}

// vpbroadcastb/w/d/q xmm|ymm, xmm/m8..m64: the low element everywhere.
template <class T>
void vpbroadcast(Exec& x, const Insn& in) {
  avx::check_enabled(x);
  Ymm s = avx::read(x, in, in.op[1]);
  T v;
  std::memcpy(&v, &s.lo, sizeof v);
  Xmm h;
  for (unsigned i = 0; i < 16 / sizeof(T); ++i) std::memcpy(h.u8 + i * sizeof(T), &v, sizeof v);
  avx::write(x, in, in.op[0], Ymm{h, h});
}

}  // namespace

void register_avx_int(DispatchTable& t) {
  using namespace sse;
#define B(M, ...) t[ZYDIS_MNEMONIC_##M] = &binary<__VA_ARGS__>
  B(VPADDB, add<uint8_t>); B(VPADDW, add<uint16_t>); B(VPADDD, add<uint32_t>); B(VPADDQ, add<uint64_t>);
  B(VPSUBB, sub<uint8_t>); B(VPSUBW, sub<uint16_t>); B(VPSUBD, sub<uint32_t>); B(VPSUBQ, sub<uint64_t>);
  B(VPADDSB, adds<int8_t>); B(VPADDSW, adds<int16_t>);
  B(VPADDUSB, adds<uint8_t>); B(VPADDUSW, adds<uint16_t>);
  B(VPSUBSB, subs<int8_t>); B(VPSUBSW, subs<int16_t>);
  B(VPSUBUSB, subs<uint8_t>); B(VPSUBUSW, subs<uint16_t>);
  B(VPMULLW, pmullw); B(VPMULHW, pmulhw); B(VPMULHUW, pmulhuw); B(VPMULUDQ, pmuludq);
  B(VPMADDWD, pmaddwd); B(VPSADBW, psadbw);
  B(VPAVGB, avg<uint8_t>); B(VPAVGW, avg<uint16_t>);
  B(VPMINUB, min<uint8_t>); B(VPMAXUB, max<uint8_t>); B(VPMINSW, min<int16_t>); B(VPMAXSW, max<int16_t>);
  B(VPCMPEQB, cmpeq<uint8_t>); B(VPCMPEQW, cmpeq<uint16_t>); B(VPCMPEQD, cmpeq<uint32_t>);
  B(VPCMPGTB, cmpgt<int8_t>); B(VPCMPGTW, cmpgt<int16_t>); B(VPCMPGTD, cmpgt<int32_t>);
  B(VPAND, pand); B(VPANDN, pandn); B(VPOR, por); B(VPXOR, pxor);
  B(VANDPS, pand); B(VANDNPS, pandn); B(VORPS, por); B(VXORPS, pxor);
  B(VANDPD, pand); B(VANDNPD, pandn); B(VORPD, por); B(VXORPD, pxor);
  B(VPMINSB, min<int8_t>); B(VPMAXSB, max<int8_t>); B(VPMINSD, min<int32_t>); B(VPMAXSD, max<int32_t>);
  B(VPMINUW, min<uint16_t>); B(VPMAXUW, max<uint16_t>); B(VPMINUD, min<uint32_t>); B(VPMAXUD, max<uint32_t>);
  B(VPCMPEQQ, cmpeq<uint64_t>); B(VPCMPGTQ, cmpgt<int64_t>);
#undef B
  t[ZYDIS_MNEMONIC_VPMOVMSKB] = vpmovmskb;
  t[ZYDIS_MNEMONIC_VPTEST] = vptest;
  t[ZYDIS_MNEMONIC_VPBROADCASTB] = vpbroadcast<uint8_t>;
  t[ZYDIS_MNEMONIC_VPBROADCASTW] = vpbroadcast<uint16_t>;
  t[ZYDIS_MNEMONIC_VPBROADCASTD] = vpbroadcast<uint32_t>;
  t[ZYDIS_MNEMONIC_VPBROADCASTQ] = vpbroadcast<uint64_t>;
}

}  // namespace vireo
