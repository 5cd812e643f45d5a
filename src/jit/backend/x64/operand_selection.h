// Instruction selection before register allocation: which IR values need no register of
// their own because their users' host instructions absorb them.
#pragma once

#include <cstdint>
#include <vector>

#include "jit/ir/ir.h"

namespace vireo::jit {

struct OperandSelection {
  // Per instruction: a constant every user takes as an immediate, a shift by 1..3 taken as
  // the scale of the one lea that uses it, an address x + c taken as the displacement of the
  // accesses that use it, or the TestCond of a fused branch. The backend emits none of them.
  std::vector<uint8_t> folded;
  bool fused_branch = false;  // the Branch terminal is a host cmp/test + jcc on lazy flags
  bool fused_tail_branch = false;  // so is the tail's (ir::Tail)
  // Counted on the way, for the backend's other walks (one walk instead of four): per value,
  // its readers (instructions, and the terminals' conditions and destinations) and its reads
  // as the address of a plain load or store; per position i, the interpreter fallbacks and
  // rep string helpers (which count their own guest instructions) before i.
  std::vector<uint32_t> uses, address_uses, self_counting_before;
  uint32_t plain_accesses = 0;  // loads and stores (each has a sync record)
};

// `displacements`: an address x + c or (i << s) + c that only loads and stores read is folded
// into their host address ([r15 + x + c], [r15 + i*2^s + c]; user mode, where the access is
// one host instruction), and so is a constant address c ([r15 + c]; c a sign-extended imm32).
// `gpr_reads`: a GetGpr read only by a ZeroExt32, ZeroExt16 or ZeroExt8 after it (no write of
// the register, no interpreter call between) is folded into it: a 32-bit load (a movzx) from
// CpuState.
OperandSelection select_operands(const ir::Block& b, bool displacements = false, bool gpr_reads = false);
// The same into `sel`, reusing its vector's memory (the backend's, from block to block).
void select_operands(const ir::Block& b, OperandSelection& sel, bool displacements, bool gpr_reads);

// Whether argument k of `in`, the constant v, can be encoded as an immediate there.
bool takes_imm(const ir::Block& b, const ir::Inst& in, int k, uint64_t v);

// Flags values the backend computes only where they are read (see FlagsRecipe). Inline: the
// emitter asks it of every operand in its walks (last uses, releases, lazy values).
inline bool is_recomputable_flags(ir::Opcode op) {
  switch (op) {
    case ir::Opcode::FlagsAdd: case ir::Opcode::FlagsSub: case ir::Opcode::FlagsLogic: case ir::Opcode::FlagsInc:
    case ir::Opcode::FlagsDec: case ir::Opcode::FlagsShift: case ir::Opcode::FlagsImul:
      return true;
    default: return false;
  }
}
bool is_commutative(ir::Opcode op);
// Add32, Sub32, ...: the 32-bit host forms.
bool is_32bit_form(ir::Opcode op);

}  // namespace vireo::jit
