// Host code for the integer operations, once registers are chosen: two-address forms, lea,
// immediates, shifts, condition codes and the recomputation of lazy flags. r11 is the
// backend's scratch register.
#pragma once

#include <xbyak/xbyak.h>

#include <cstdint>

#include "jit/backend/x64/host_encoding.h"
#include "jit/cache/translated_block.h"
#include "jit/ir/types.h"

namespace vireo::jit {

// The register at a guest width (1, 2, 4 or 8 bytes).
Xbyak::Reg sized(const Xbyak::Reg64& r, unsigned size);
// An immediate for an operation at `size` bytes, sign-extended the way Xbyak checks it.
int32_t sized_imm(uint64_t v, uint64_t size);

// d = base + index * scale + disp at 64 bits (or 32, zero-extended), base or index -1 when
// absent: `add` when d is an operand, else `lea`.
void emit_add(Xbyak::CodeGenerator& g, const Xbyak::Reg64& d, int base, int index, int scale,
              int32_t disp, bool w32);
// d = a op b for Sub/And/Or/Xor/Mul and their 32-bit forms; b is a register, or the
// immediate `imm` when b_reg < 0.
void emit_binary(Xbyak::CodeGenerator& g, ir::Opcode op, const Xbyak::Reg64& d,
                 const Xbyak::Reg64& a, int b_reg, uint32_t imm);
// x = x shl/shr/sar/rol/ror at the guest width by the immediate count of a Shift descriptor.
void emit_shift_imm(Xbyak::CodeGenerator& g, uint64_t desc, const Xbyak::Reg64& x);
// d = a shifted at the guest width by the register `count` (a ShiftCl descriptor).
void emit_shift_cl(Xbyak::CodeGenerator& g, uint64_t desc, const Xbyak::Reg64& d,
                   const Xbyak::Reg64& a, const Xbyak::Reg64& count);
// d = RFLAGS after that shift; `old` (the guest's flags) when the masked count is 0.
void emit_flags_shift_cl(Xbyak::CodeGenerator& g, uint64_t desc, const Xbyak::Reg64& d,
                         const Xbyak::Reg64& a, const Xbyak::Reg64& count, const Xbyak::Reg64& old);

// Runs a lazy flags value's operation so that the host RFLAGS are the guest's.
void emit_flags_recipe(Xbyak::CodeGenerator& g, const FlagsRecipe& r);
// setcc / jcc on condition code cc (SDM Vol. 1, Appendix B) of the host flags.
void emit_setcc(Xbyak::CodeGenerator& g, uint8_t cc, const Xbyak::Reg8& r);
void emit_jcc(Xbyak::CodeGenerator& g, uint8_t cc, const Xbyak::Label& l);
// cmovcc d, s (64-bit) on condition code cc of the host flags.
void emit_cmov(Xbyak::CodeGenerator& g, uint8_t cc, const Xbyak::Reg64& d, const Xbyak::Reg64& s);
// `mov r, [rbx + disp]` (load) or `mov [rbx + disp], r`: a CpuState field (rbx = CpuState*).
// Encoded here, byte for byte as Xbyak encodes it (REX.W 8B/89; mod 00, 01 or 10 with rm =
// rbx), because it is the backend's most common instruction (every exit's write-back) and
// Xbyak's operand objects made its encoding a visible part of emission.
inline void emit_cpu_mov(Xbyak::CodeGenerator& g, bool load, int32_t disp, const Xbyak::Reg64& r) {
  enc::mov_cpu(g, load, disp, r.getIdx());
}
// d = condition code cc of the flags value in `flags` (0 or 1).
void emit_test_cond(Xbyak::CodeGenerator& g, const Xbyak::Reg64& d, const Xbyak::Reg64& flags,
                    uint8_t cc);

}  // namespace vireo::jit
