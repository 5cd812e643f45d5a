// AVX moves: vmovdqu/vmovdqa, vmovups/vmovaps, vmovupd/vmovapd (VEX.128 and VEX.256, loads,
// stores, register copies), vzeroupper and vzeroall.
//
// The aligned forms need an address aligned to the operand size (16 or 32 bytes), else
// #GP(0); the unaligned ones take any address (SDM Vol. 2, VMOVDQA and friends). Not
// advertised in CPUID yet (see avx_int.cpp).
#include <Zydis/Mnemonic.h>

#include "interp/avx_common.h"
#include "interp/dispatch.h"
#include "interp/exec.h"

namespace vireo {

namespace {

template <bool aligned>
void vmov(Exec& x, const Insn& in) {
  avx::check_enabled(x);
  const unsigned align = aligned ? in.op[0].size | in.op[1].size : 1;  // 16 or 32
  avx::Ymm v = avx::read(x, in, in.op[1], aligned ? align : 1);
  avx::write(x, in, in.op[0], v, aligned ? align : 1);
}

void vzeroupper(Exec& x, const Insn&) {
  avx::check_enabled(x);
  std::memset(static_cast<void*>(x.cpu->ymm_hi), 0, sizeof x.cpu->ymm_hi);
}

void vzeroall(Exec& x, const Insn&) {
  avx::check_enabled(x);
  std::memset(static_cast<void*>(x.cpu->ymm_hi), 0, sizeof x.cpu->ymm_hi);
  std::memset(static_cast<void*>(x.cpu->xmm), 0, sizeof x.cpu->xmm);
}

}  // namespace

void register_avx_move(DispatchTable& t) {
  for (auto m : {ZYDIS_MNEMONIC_VMOVDQU, ZYDIS_MNEMONIC_VMOVUPS, ZYDIS_MNEMONIC_VMOVUPD})
    t[m] = vmov<false>;
  for (auto m : {ZYDIS_MNEMONIC_VMOVDQA, ZYDIS_MNEMONIC_VMOVAPS, ZYDIS_MNEMONIC_VMOVAPD})
    t[m] = vmov<true>;
  t[ZYDIS_MNEMONIC_VZEROUPPER] = vzeroupper;
  t[ZYDIS_MNEMONIC_VZEROALL] = vzeroall;
}

}  // namespace vireo
