// BlockEmitter (block_emitter.h), loops in place: peeling (which accesses the second copy
// need not check) and loop registers computed in place.
#include "jit/backend/x64/block_emitter.h"
#include "jit/passes/passes.h"

namespace vireo::jit::x64_detail {

unsigned in_place_operands(Opcode op) {
  switch (op) {
    case Opcode::ZeroExt8: case Opcode::ZeroExt16: case Opcode::ZeroExt32: case Opcode::SignExt8:
    case Opcode::SignExt16: case Opcode::SignExt32: case Opcode::Sub: case Opcode::Sub32:
    case Opcode::Not: case Opcode::Neg: case Opcode::Not32: case Opcode::Neg32:
    case Opcode::Bswap32: case Opcode::Bswap64: case Opcode::Shl: case Opcode::Shr: case Opcode::Sar:
    case Opcode::MergeLow: case Opcode::MergeHigh8: case Opcode::TestCond: case Opcode::BoolToU64:
    case Opcode::Load8: case Opcode::Load16: case Opcode::Load32: case Opcode::Load64:
      return 1;
    case Opcode::Shift: case Opcode::ShiftCl: return 2;
    default: return is_commutative(op) ? 3 : 0;
  }
}

void BlockEmitter::plan_coalescing(const std::vector<uint32_t>& head_last_use) {
  const uint32_t end = uint32_t(b_->insts.size());
  for (uint32_t i = 0; i < end; ++i)
    if (hoisted_[i]) hoisted_of_[b_->insts[i].args[0].v & 15] = int(i);
  if (b_->tail.present()) return;  // (the tail's back edge may carry other values)
  for (unsigned r = 0; r < 16; ++r) {
    const int h = hoisted_of_[r];
    if (h < 0) continue;
    // The last write of r: its value is what the back edge moves into the loop register.
    uint32_t s = kNone;
    for (uint32_t i = uint32_t(h) + 1; i < b_->main_end(); ++i)
      if (!b_->insts[i].dead && b_->insts[i].op == Opcode::SetGpr && (b_->insts[i].args[0].v & 15) == r) s = i;
    if (s == kNone || imm_arg(b_->insts[s], 1)) continue;
    const uint32_t v = uint32_t(b_->insts[s].args[1].v);
    const ir::Inst& d = b_->insts[v];
    if (v <= uint32_t(h) || d.dead || folded_[v] || hoisted_[v] || !in_place_operands(d.op) ||
        head_last_use[uint32_t(h)] > v)
      continue;
    // Between the definition and the write, the guest register still reads as the head
    // value, whose register then holds the new one: nothing there may look (a sync record,
    // a read of r).
    bool clear = true;
    for (uint32_t k = v + 1; k < s && clear; ++k) {
      const ir::Inst& x = b_->insts[k];
      if (x.dead || folded_[k]) continue;
      if (passes::is_sync_point(x.op) || x.op == Opcode::ExitIf || x.op == Opcode::GetFlags ||
          ((x.op == Opcode::GetGpr || x.op == Opcode::SetGpr) && (x.args[0].v & 15) == r))
        clear = false;
    }
    if (!clear) continue;
    coalesce_into_[v] = int8_t(r);
    last_use_[v] = end;  // (it is the loop register's value to the back edge)
  }
}

bool BlockEmitter::coalesce_now(uint32_t i, const ir::Inst& in, int& r) {
  const int g = coalesce_into_[i];
  if (g < 0) return false;
  const uint32_t h = uint32_t(hoisted_of_[g]);
  const int l = loop_reg_[g];
  // The head value must be the register's sole content: guest register g's dirty value and
  // nothing else (no other guest register, no lazy or carried flags over it).
  if (l < 0 || reg_of_[h] != l || owner_[l] != h || dirty_gpr_[g] != h || pins_[l] != 1) return false;
  for (int k = 0; k < in.nargs; ++k)
    if (!in.args[k].is_imm && in.args[k].v == h && !(in_place_operands(in.op) & (1u << k))) return false;
  r = l;
  return true;
}

bool BlockEmitter::plan_peeling(bool carrying) {
  if (!self_loop_ || rt_->tlb_table || b_->tail.present()) return false;
  for (uint32_t i = 0; i < b_->main_end(); ++i) {
    const ir::Inst& in = b_->insts[i];
    if (!in.dead && in.op == Opcode::SetGpr && !imm_arg(in, 1)) final_of_[in.args[0].v & 15] = uint32_t(in.args[1].v);
    else if (!in.dead && in.op == Opcode::SetGpr) final_of_[in.args[0].v & 15] = kNone - 1;  // (a constant)
  }
  if (carrying) return true;
  for (uint32_t i = 0; i < b_->main_end(); ++i) {
    const ir::Inst& in = b_->insts[i];
    if (in.dead || !passes::is_sync_point(in.op)) continue;
    for (int k = 0; k < in.nargs; ++k)
      if (!in.args[k].is_imm && induction_covered(uint32_t(in.args[k].v))) return true;
  }
  return false;
}

bool BlockEmitter::induction_step(uint32_t v, int64_t& step) const {
  auto [x, d] = base_and_displacement(v);
  (void)d;  // (the step matters, not where the access is relative to the register)
  // x is a loop register's value at the head, or the value the back edge moves into it.
  int r = -1;
  for (unsigned g = 0; g < 16 && r < 0; ++g)
    if (loop_reg_[g] >= 0 && hoisted_of_[g] >= 0 && (uint32_t(hoisted_of_[g]) == x || final_of_[g] == x)) r = int(g);
  if (r < 0) return false;
  const uint32_t h = uint32_t(hoisted_of_[r]), fin = final_of_[r];
  step = 0;
  if (fin == kNone) return true;  // (never written: the same address in every iteration)
  if (fin == kNone - 1) return false;
  const ir::Inst& a = b_->insts[fin];
  if ((a.op != Opcode::Add && a.op != Opcode::Sub) || a.args[0].is_imm || a.args[1].is_imm) return false;
  // x + c, c + x, or x - c (glibc's AVX2 loops step with `sub rdi, -0x80`: the shorter imm8)
  for (int k = 0; k < (a.op == Opcode::Add ? 2 : 1); ++k)
    if (a.args[k].v == h && is_const(a.args[1 - k].v)) {
      step = int64_t(const_of(a.args[1 - k].v));
      if (a.op == Opcode::Sub) step = int64_t(0 - uint64_t(step));
      return true;
    }
  return false;
}

bool BlockEmitter::induction_covered(uint32_t v) const {
  int64_t step;
  if (!induction_step(v, step)) return false;
  const uint64_t reach = rt_->mem->guard > 64 ? rt_->mem->guard - 64 : 0;
  return (step < 0 ? 0 - uint64_t(step) : uint64_t(step)) <= reach;
}

bool BlockEmitter::induction_aligned(uint32_t v, unsigned align) const {
  int64_t step;
  return copy_ == 1 && induction_step(v, step) && (uint64_t(step) & (align - 1)) == 0;
}

}  // namespace vireo::jit::x64_detail
