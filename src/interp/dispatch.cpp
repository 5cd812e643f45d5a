#include "interp/dispatch.h"

#include "interp/exec.h"
#include "interp/interpreter.h"

namespace vireo {

namespace {

void unimplemented(Exec& x, const Insn& in) {
  x.interp->report_unimplemented(in);
  x.raise_ud();
}

DispatchTable build() {
  DispatchTable t;
  t.fill(&unimplemented);
  register_alu(t);
  register_move(t);
  register_control(t);
  register_stack(t);
  register_system(t);
  register_shift(t);
  register_muldiv(t);
  register_bit(t);
  register_string(t);
  register_atomic(t);
  register_sse_int(t);
  register_sse_fp(t);
  register_sse_move(t);
  register_sse_shuffle(t);
  register_sse_int_ext(t);
  register_sse_string(t);
  register_mmx(t);  // after the SSE families: it wraps the handlers of the mnemonics MMX shares
  register_x87(t);
  register_user_segments(t);  // after register_system: iret is no longer simply privileged
  register_user_umip(t);
  register_bmi2(t);
  register_adx(t);
  register_host_values(t);
  register_fsgsbase(t);
  register_xsave(t);
  // FMA3, F16C and the crypto extensions (issue 17).
  register_fma(t);
  register_f16c(t);
  register_aes(t);
  register_pclmul(t);
  register_sha(t);
  register_avx_int(t);
  register_avx_move(t);
  register_avx_fp(t);
  register_avx_shuffle(t);
  // AVX/AVX2 completion (helper/avx): keep these two together and last of the AVX block.
  register_avx_mask(t);
  register_avx_host(t);
  return t;
}

}  // namespace

const DispatchTable& dispatch_table() {
  static const DispatchTable table = build();
  return table;
}

}  // namespace vireo
