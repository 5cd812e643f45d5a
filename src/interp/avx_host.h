// Running one guest AVX/AVX2 instruction on the host.
//
// Host and guest are the same ISA, and this host has AVX2, so the exact answer of a VEX
// instruction — FP rounding under the guest's MXCSR, NaN rules, compare predicates, conversion
// limits, permutes — is what the host computes when it runs the very same instruction (the
// reason sse_host.h runs SSE FP on the host). avx_host.cpp re-encodes the guest instruction
// with Zydis so that its memory operand reads or writes a local buffer ([rsi]) and its GPR
// operands use fixed host registers, wraps it in a small thunk (Xbyak) that loads the YMM
// registers it names from a context, runs it with all exceptions masked, and stores them back,
// and caches the thunk by the guest instruction's bytes.
//
// What stays in the interpreter: the guest memory access (read before, write after, with the
// guest's faults and the alignment rule of the aligned moves), the #XM decision for unmasked
// exceptions (commit_fp_flags: nothing is written then), and committing the registers. Gathers,
// masked moves, vzeroupper/vzeroall and vldmxcsr/vstmxcsr have their own handlers
// (avx_mask.cpp, avx_move.cpp).
#pragma once

#include "cpu/insn.h"

namespace vireo {
struct Exec;

namespace avx {

// Executes `in` (a VEX instruction of the AVX or AVX2 ISA sets) on the host as described above.
void run_on_host(Exec& x, const Insn& in);

}  // namespace avx
}  // namespace vireo
