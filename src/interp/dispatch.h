// The interpreter's dispatch table: Zydis mnemonic -> handler.
//
// Each instruction family (one file in src/interp/) registers its handlers in a function
// declared here; build_dispatch_table() calls them all. A mnemonic with no handler executes as
// #UD and is reported once by name (design.md, "Habits").
#pragma once

#include <Zydis/Mnemonic.h>

#include <array>

#include "cpu/insn.h"

namespace vireo {

using DispatchTable = std::array<Handler, ZYDIS_MNEMONIC_MAX_VALUE + 1>;

const DispatchTable& dispatch_table();

// Whether `in` is a locked read-modify-write of memory: LOCK with a memory operand, or XCHG
// with one (implicitly locked, SDM Vol. 2, XCHG). Other guest threads must see it as one
// indivisible access, so both engines run it through locked_handler (locked.cpp).
bool is_locked_rmw(const Insn& in);
// The handler an engine runs for `in`: its family's handler, wrapped to be atomic for a
// locked read-modify-write in user mode.
Handler handler_for(const Insn& in);

// One per family file.
void register_alu(DispatchTable& t);       // alu.cpp: add/sub/adc/sbb/and/or/xor/cmp/test/inc/dec/neg/not
void register_move(DispatchTable& t);      // move.cpp: mov/movzx/movsx/lea/xchg/cmov/setcc/bswap/cbw..
void register_control(DispatchTable& t);   // control.cpp: jmp/jcc/call/ret/loop/jrcxz
void register_stack(DispatchTable& t);     // stack.cpp: push/pop/leave/enter/pushf/popf
void register_system(DispatchTable& t);    // system.cpp: syscall/cpuid/rdtsc/nop/hlt/int3/ud2/fences
void register_shift(DispatchTable& t);     // shift.cpp
void register_muldiv(DispatchTable& t);    // muldiv.cpp
void register_bit(DispatchTable& t);       // bit.cpp
void register_string(DispatchTable& t);    // string.cpp
void register_atomic(DispatchTable& t);    // atomic.cpp: cmpxchg/cmpxchg16b/xadd
void register_sse_int(DispatchTable& t);   // sse_int.cpp
void register_sse_fp(DispatchTable& t);    // sse_fp.cpp
void register_sse_move(DispatchTable& t);  // sse_move.cpp
void register_sse_shuffle(DispatchTable& t);  // sse_shuffle.cpp: shuffles, unpacks, packs, insert/extract, blends
void register_sse_int_ext(DispatchTable& t);  // sse_int_ext.cpp: SSSE3/SSE4.1/SSE4.2 integer ops
void register_sse_string(DispatchTable& t);   // sse_string.cpp: SSE4.2 pcmpestri/pcmpestrm/pcmpistri/pcmpistrm
// mmx.cpp: MMX forms; runs after the SSE families, routing the mnemonics they share by operand class.
void register_mmx(DispatchTable& t);
void register_x87(DispatchTable& t);       // x87.cpp
void register_user_umip(DispatchTable& t);      // user_umip.cpp: sgdt/sidt/sldt/str/smsw as Linux emulates them
void register_user_segments(DispatchTable& t);  // user_segments.cpp: ret (near and far), iret
void register_bmi2(DispatchTable& t);         // bmi2.cpp: pdep/pext/bzhi/mulx/rorx/sarx/shlx/shrx
void register_adx(DispatchTable& t);          // adx.cpp: adcx/adox
void register_host_values(DispatchTable& t);  // host_values.cpp: rdrand/rdseed/rdpid
void register_fsgsbase(DispatchTable& t);     // fsgsbase.cpp: rd/wr fs/gs base
void register_xsave(DispatchTable& t);        // xsave.cpp: xsave/xsaveopt/xsavec/xrstor, xgetbv
// FMA3, F16C and the crypto extensions (issue 17).
void register_fma(DispatchTable& t);     // fma.cpp: vfmadd/vfmsub/vfnmadd/vfnmsub/vfmaddsub/vfmsubadd
void register_f16c(DispatchTable& t);    // f16c.cpp: vcvtph2ps/vcvtps2ph
void register_aes(DispatchTable& t);     // aes.cpp: AES-NI, VEX and VAES forms
void register_pclmul(DispatchTable& t);  // pclmul.cpp: pclmulqdq/vpclmulqdq
void register_sha(DispatchTable& t);     // sha.cpp: SHA-NI
void register_avx_int(DispatchTable& t);      // avx_int.cpp: VEX packed-integer ops (partial AVX2)
void register_avx_move(DispatchTable& t);     // avx_move.cpp: vmovdq*/vmovap*/vmovup*, vzeroupper/all
void register_avx_fp(DispatchTable& t);       // avx_fp.cpp: VEX packed/scalar FP arithmetic
void register_avx_shuffle(DispatchTable& t);  // avx_shuffle.cpp: in-lane shuffles, shifts, vmovd/q
// AVX/AVX2 completion (issue 17): masked moves and gathers, then every other AVX/AVX2 mnemonic
// run on the host (avx_host.h). register_avx_host goes last: it fills only what is left.
void register_avx_mask(DispatchTable& t);     // avx_mask.cpp: vmaskmov*, vpmaskmov*, gathers, vldmxcsr..
void register_avx_host(DispatchTable& t);     // avx_host.cpp: the rest of AVX/AVX2 on the host

}  // namespace vireo
