#include "jit/backend/x64/operand_selection.h"

namespace vireo::jit {

using ir::Opcode;

namespace {
bool fits_s32(uint64_t v) { return int64_t(v) == int64_t(int32_t(v)); }
bool is_const(const ir::Block& b, uint64_t id) { return b.insts[id].op == Opcode::Const; }
}  // namespace

bool is_commutative(Opcode op) {
  switch (op) {
    case Opcode::Add: case Opcode::And: case Opcode::Or: case Opcode::Xor: case Opcode::Mul:
    case Opcode::Add32: case Opcode::And32: case Opcode::Or32: case Opcode::Xor32: case Opcode::Mul32:
      return true;
    default: return false;
  }
}

bool is_32bit_form(Opcode op) {
  switch (op) {
    case Opcode::Add32: case Opcode::Sub32: case Opcode::And32: case Opcode::Or32:
    case Opcode::Xor32: case Opcode::Mul32: case Opcode::Not32: case Opcode::Neg32:
      return true;
    default: return false;
  }
}

// 64-bit forms take a sign-extended imm32; 32-bit forms any 32-bit value. Of two constant
// operands (not folded yet) only the second is an immediate.
bool takes_imm(const ir::Block& b, const ir::Inst& in, int k, uint64_t v) {
  auto other_const = [&] { return !in.args[1 - k].is_imm && is_const(b, in.args[1 - k].v); };
  switch (in.op) {
    case Opcode::Add: case Opcode::And: case Opcode::Or: case Opcode::Xor: case Opcode::Mul:
      return fits_s32(v) && (k == 1 || !other_const());
    case Opcode::Add32: case Opcode::And32: case Opcode::Or32: case Opcode::Xor32: case Opcode::Mul32:
      return k == 1 || !other_const();
    case Opcode::Sub: return k == 1 && fits_s32(v) && fits_s32(-v);  // (lea a - v)
    case Opcode::Sub32: return k == 1;
    case Opcode::Shl: case Opcode::Shr: case Opcode::Sar: return k == 1;
    case Opcode::Store8: case Opcode::Store16: case Opcode::Store32: return k == 1;
    case Opcode::Store64: case Opcode::SetGpr: return k == 1 && fits_s32(v);
    case Opcode::FlagsSub: case Opcode::FlagsAdd: case Opcode::FlagsImul:
      return k == 1 && (in.args[2].v < 8 || fits_s32(v));
    default: return false;
  }
}

namespace {
bool is_plain_access(Opcode op) {
  switch (op) {
    case Opcode::Load8: case Opcode::Load16: case Opcode::Load32: case Opcode::Load64:
    case Opcode::Store8: case Opcode::Store16: case Opcode::Store32: case Opcode::Store64:
      return true;
    default: return false;
  }
}
}  // namespace

OperandSelection select_operands(const ir::Block& b, bool displacements, bool gpr_reads) {
  OperandSelection sel;
  select_operands(b, sel, displacements, gpr_reads);
  return sel;
}

void select_operands(const ir::Block& b, OperandSelection& sel, bool displacements, bool gpr_reads) {
  sel.fused_branch = sel.fused_tail_branch = false;
  // (per-thread scratch: no allocation per block once they have grown)
  static thread_local std::vector<uint8_t> kind_scratch;
  static thread_local std::vector<uint32_t> candidate_scratch;
  const uint32_t n = uint32_t(b.insts.size());
  sel.folded.assign(n, 0);
  sel.uses.assign(n, 0);
  sel.address_uses.assign(n, 0);
  sel.self_counting_before.resize(n + 1);
  kind_scratch.resize(n);
  candidate_scratch.resize(n);
  // Through local pointers: a store through a uint8_t pointer may alias anything, so with the
  // vectors the compiler loads every vector's data pointer again after each one.
  const ir::Inst* const insts = b.insts.data();
  uint8_t* const folded = sel.folded.data();
  uint32_t* const uses = sel.uses.data();
  uint32_t* const address_uses = sel.address_uses.data();
  uint32_t* const self_counting_before = sel.self_counting_before.data();
  // Per value, written at its definition (operands come before their readers): kConst for a
  // constant, kRegUse once a reader needs it in a register. The operand walk reads this dense
  // byte instead of the 80-byte instruction that defines each operand.
  static constexpr uint8_t kConst = 1, kRegUse = 2;
  uint8_t* const kind = kind_scratch.data();
  // The positions of the adds and zero extensions, the only instructions the second walk
  // decides about (written at every position, counted only for those: no branch).
  uint32_t* const candidates = candidate_scratch.data();
  uint32_t ncandidates = 0;
  auto is_const = [insts](uint64_t id) { return insts[id].op == Opcode::Const; };
  auto const_of = [insts](uint64_t id) { return insts[id].args[0].v; };
  uint32_t self_counting = 0, accesses = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const ir::Inst& in = insts[i];
    self_counting_before[i] = self_counting;
    kind[i] = in.op == Opcode::Const && !in.dead ? kConst : 0;
    if (in.dead) continue;
    candidates[ncandidates] = i;
    ncandidates += in.op == Opcode::Add || in.op == Opcode::Add32 || in.op == Opcode::ZeroExt32 ||
                   in.op == Opcode::ZeroExt16 || in.op == Opcode::ZeroExt8;
    if (in.op == Opcode::Interpret || in.op == Opcode::RepString) ++self_counting;
    const bool access = is_plain_access(in.op);
    accesses += access;
    if (access && !in.args[0].is_imm) ++address_uses[in.args[0].v];
    for (int k = 0; k < in.nargs; ++k) {
      if (in.args[k].is_imm) continue;
      const uint64_t v = in.args[k].v;
      ++uses[v];
      if ((kind[v] & kConst) && !(kind[v] & kRegUse) && !takes_imm(b, in, k, const_of(v)) &&
          !(displacements && k == 0 && access && fits_s32(const_of(v))))
        kind[v] |= kRegUse;
    }
  }
  self_counting_before[n] = self_counting;
  sel.plain_accesses = accesses;
  b.for_each_terminal([&](const ir::Terminal& t) {
    for (ir::Value v : {t.cond, t.dest})
      if (v.valid()) ++uses[v.id], kind[v.id] |= kRegUse;
  });
  // A branch on a condition of recomputable flags becomes the host's cmp/test + jcc.
  auto fuse = [&](const ir::Terminal& t) {
    if (t.kind != ir::Terminal::Kind::Branch) return false;
    const ir::Inst& c = insts[t.cond.id];
    if (c.op != Opcode::TestCond || uses[t.cond.id] != 1 || !is_recomputable_flags(insts[c.args[0].v].op))
      return false;
    folded[t.cond.id] = 1;
    return true;
  };
  sel.fused_branch = fuse(b.term);
  if (b.tail.present()) sel.fused_tail_branch = fuse(b.tail.term);
  // Constants that every reader takes as an immediate.
  for (uint32_t i = 0; i < n; ++i) folded[i] |= uint8_t(kind[i] == kConst);
  // One walk over the adds and zero extensions for the rest (it was three walks of the whole
  // block): each decision reads only what earlier positions decided, or this position's own
  // (a value's operands come before it, and an operand that one of these folds takes has
  // this instruction as its only reader).
  for (uint32_t at = 0; at < ncandidates; ++at) {
    const uint32_t i = candidates[at];
    const ir::Inst& in = insts[i];
    switch (in.op) {
      case Opcode::Add: case Opcode::Add32:
        // A shift by 1..3 read only by an add: the lea's scale.
        for (int k : {1, 0}) {
          uint64_t v = in.args[k].v;
          const ir::Inst& d = insts[v];
          uint64_t other = in.args[1 - k].v;
          if (d.op == Opcode::Shl && uses[v] == 1 && is_const(d.args[1].v) && const_of(d.args[1].v) >= 1 &&
              const_of(d.args[1].v) <= 3 && !is_const(d.args[0].v) && !(folded[other] && !is_const(other))) {
            folded[v] = 1;
            break;
          }
        }
        // Addresses x + c read only as the address of loads and stores (their argument 0), x
        // a register or a scaled index folded into the sum ([r15 + i*s + c]: a table at a
        // constant address).
        if (displacements && in.op == Opcode::Add && !folded[i] && address_uses[i] && address_uses[i] == uses[i] &&
            !in.args[0].is_imm && !in.args[1].is_imm) {
          const int k = is_const(in.args[1].v) ? 1 : 0;  // the constant
          const uint64_t x = in.args[1 - k].v, c = in.args[k].v;
          if (is_const(c) && !is_const(x) && !(folded[x] && insts[x].op != Opcode::Shl) && fits_s32(const_of(c)))
            folded[i] = 1;
        }
        break;
      case Opcode::ZeroExt32: case Opcode::ZeroExt16: case Opcode::ZeroExt8: {
        // A GetGpr read only by this zero extension, the register not written in between: a
        // 32-bit load from CpuState (a movzx of its low word or byte: `movzx eax, ax`).
        if (!gpr_reads || in.args[0].is_imm) break;
        const uint32_t g = uint32_t(in.args[0].v);
        const ir::Inst& get = insts[g];
        if (get.op != Opcode::GetGpr || uses[g] != 1) break;
        bool clear = true;
        for (uint32_t k = g + 1; k < i && clear; ++k) {
          const ir::Inst& x = insts[k];
          if (x.dead) continue;
          clear = !((x.op == Opcode::SetGpr && (x.args[0].v & 15) == (get.args[0].v & 15)) ||
                    x.op == Opcode::Interpret || x.op == Opcode::RepString || x.op == Opcode::TailStart);
        }
        if (clear) folded[g] = 1;
        break;
      }
      default: break;
    }
  }
}

}  // namespace vireo::jit
