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
  static thread_local std::vector<uint8_t> reg_use_scratch;
  const uint32_t n = uint32_t(b.insts.size());
  sel.folded.assign(n, 0);
  sel.uses.assign(n, 0);
  sel.address_uses.assign(n, 0);
  sel.self_counting_before.resize(n + 1);
  reg_use_scratch.assign(n, 0);
  // Through local pointers: a store through a uint8_t pointer may alias anything, so with the
  // vectors the compiler loads every vector's data pointer again after each one.
  const ir::Inst* const insts = b.insts.data();
  uint8_t* const folded = sel.folded.data();
  uint32_t* const uses = sel.uses.data();
  uint32_t* const address_uses = sel.address_uses.data();
  uint32_t* const self_counting_before = sel.self_counting_before.data();
  uint8_t* const reg_use = reg_use_scratch.data();
  auto is_const = [insts](uint64_t id) { return insts[id].op == Opcode::Const; };
  auto const_of = [insts](uint64_t id) { return insts[id].args[0].v; };
  uint32_t self_counting = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const ir::Inst& in = insts[i];
    self_counting_before[i] = self_counting;
    if (in.dead) continue;
    if (in.op == Opcode::Interpret || in.op == Opcode::RepString) ++self_counting;
    if (is_plain_access(in.op) && !in.args[0].is_imm) ++address_uses[in.args[0].v];
    for (int k = 0; k < in.nargs; ++k) {
      if (in.args[k].is_imm) continue;
      uint64_t v = in.args[k].v;
      ++uses[v];
      if (is_const(v) && !takes_imm(b, in, k, const_of(v)) &&
          !(displacements && k == 0 && is_plain_access(in.op) && fits_s32(const_of(v))))
        reg_use[v] = 1;
    }
  }
  self_counting_before[n] = self_counting;
  b.for_each_terminal([&](const ir::Terminal& t) {
    for (ir::Value v : {t.cond, t.dest})
      if (v.valid()) ++uses[v.id], reg_use[v.id] = 1;
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
  for (uint32_t i = 0; i < n; ++i) {
    const ir::Inst& in = insts[i];
    if (in.dead) continue;
    if (in.op == Opcode::Const && !reg_use[i]) folded[i] = 1;
    if (in.op != Opcode::Add && in.op != Opcode::Add32) continue;
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
  }
  if (gpr_reads)
    for (uint32_t i = 0; i < n; ++i) {
      const ir::Inst& z = insts[i];
      if (z.dead || z.op != Opcode::ZeroExt32 || z.args[0].is_imm) continue;
      const uint32_t g = uint32_t(z.args[0].v);
      const ir::Inst& get = insts[g];
      if (get.op != Opcode::GetGpr || uses[g] != 1) continue;
      bool clear = true;
      for (uint32_t k = g + 1; k < i && clear; ++k) {
        const ir::Inst& x = insts[k];
        if (x.dead) continue;
        clear = !((x.op == Opcode::SetGpr && (x.args[0].v & 15) == (get.args[0].v & 15)) ||
                  x.op == Opcode::Interpret || x.op == Opcode::RepString || x.op == Opcode::TailStart);
      }
      if (clear) folded[g] = 1;
    }
  if (!displacements) return;
  // Addresses x + c read only as the address of loads and stores (their argument 0), x a
  // register or a scaled index folded into the sum ([r15 + i*s + c]: a table at a constant
  // address).
  for (uint32_t i = 0; i < n; ++i) {
    const ir::Inst& in = insts[i];
    if (in.dead || in.op != Opcode::Add || folded[i] || !address_uses[i] || address_uses[i] != uses[i]) continue;
    if (in.args[0].is_imm || in.args[1].is_imm) continue;
    const int k = is_const(in.args[1].v) ? 1 : 0;  // the constant
    const uint64_t x = in.args[1 - k].v, c = in.args[k].v;
    if (!is_const(c) || is_const(x) || (folded[x] && insts[x].op != Opcode::Shl) || !fits_s32(const_of(c)))
      continue;
    folded[i] = 1;
  }
}

}  // namespace vireo::jit
