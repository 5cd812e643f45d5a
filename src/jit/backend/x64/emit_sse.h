// Host emission of guest SSE instructions (the JIT's SSE family, emitter side).
#pragma once

#include <xbyak/xbyak.h>

#include <cstdint>

namespace vireo::jit {

// Emits the host instruction `mnemonic d, s [, imm8]`. For the shift-by-immediate forms
// (`imm_form`), emits `mnemonic d, imm8` and ignores s. Returns false for a mnemonic it
// does not know (the frontend's table and this switch must agree; tests check).
bool emit_sse_op(Xbyak::CodeGenerator& g, uint16_t mnemonic, const Xbyak::Xmm& d,
                 const Xbyak::Operand& s, uint8_t imm8, bool imm_form);

// Whether `mnemonic xmm, src` writes all of xmm without reading it (moves that replace or
// zero-extend), so that its old value need not be loaded.
bool sse_writes_whole_destination(uint16_t mnemonic, bool from_memory);

// (The imm8 of the element extracts and inserts: pextr*, extractps, pinsr*.)
// Emits a store form `mnemonic mem, x` (movaps/movups/movsd/movss/movq/movlpd/movhpd/...).
bool emit_sse_store(Xbyak::CodeGenerator& g, uint16_t mnemonic, const Xbyak::Address& mem,
                    const Xbyak::Xmm& x, uint8_t imm8 = 0);

// xmm <- gpr forms: cvtsi2sd/ss, movd/movq.
bool emit_sse_from_gpr(Xbyak::CodeGenerator& g, uint16_t mnemonic, const Xbyak::Xmm& d,
                       const Xbyak::Reg64& r, unsigned gpr_size, uint8_t imm8 = 0);

// gpr <- xmm/mem forms: cvt(t)sd2si, cvt(t)ss2si, movd/movq, movmskpd/ps, pmovmskb.
bool emit_sse_to_gpr(Xbyak::CodeGenerator& g, uint16_t mnemonic, const Xbyak::Reg64& d,
                     unsigned gpr_size, const Xbyak::Operand& s, uint8_t imm8 = 0);

}  // namespace vireo::jit
