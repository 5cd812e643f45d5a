// Operand selection (backend/x64/operand_selection.cpp): which values the x64 backend takes
// into their readers' host instructions. Its walks were merged for translation cost
// (docs/performance-history.md, "Translation cost, eighth pass"): these pin down each fold and what
// stops it, and the counts the emitter's other walks take from it.
#include <gtest/gtest.h>

#include "jit/backend/x64/operand_selection.h"
#include "jit/ir/builder.h"
#include "jit/ir/ir.h"

namespace vireo::jit {
namespace {

using ir::Opcode;
using ir::Value;

struct Sample {
  ir::Block b;
  Value disp, addr, scaled_shift, shift_count, scaled_sum, zext_get, zext_blocked_get, wide, interp_pos;
};

// A block with one candidate of each fold, and a second of some that something stops.
Sample sample() {
  Sample s;
  ir::Builder ir(s.b);
  const Value base = ir.get_gpr(3);
  s.disp = ir.constant(8);
  s.addr = ir.op(Opcode::Add, base, s.disp);                  // read only as a load's address
  const Value loaded = ir.emit(Opcode::Load64, {ir::Arg::val(s.addr)});
  const Value index = ir.get_gpr(6);
  s.shift_count = ir.constant(3);
  s.scaled_shift = ir.op(Opcode::Shl, index, s.shift_count);  // read once, by an add: a lea scale
  s.scaled_sum = ir.op(Opcode::Add, base, s.scaled_shift);
  s.zext_get = ir.get_gpr(2);
  const Value zext = ir.op(Opcode::ZeroExt32, s.zext_get);    // a 32-bit load of the register
  s.zext_blocked_get = ir.get_gpr(4);
  ir.set_gpr(4, base);                                        // written before its zero extension
  const Value blocked = ir.op(Opcode::ZeroExt32, s.zext_blocked_get);
  s.wide = ir.constant(0x123456789ull);                       // no sign-extended imm32 for SetGpr
  ir.set_gpr(0, loaded);
  ir.set_gpr(1, s.scaled_sum);
  ir.set_gpr(2, zext);
  ir.set_gpr(5, blocked);
  ir.set_gpr(7, s.wide);
  s.b.guest_insns = 8;
  ir.jump(0x1000);
  return s;
}

TEST(JitOperandSelection, FoldsEachFormAndNothingAnyReaderNeedsInARegister) {
  Sample s = sample();
  const OperandSelection sel = select_operands(s.b, true, true);
  const auto folded = [&](Value v) { return sel.folded[v.id] != 0; };
  EXPECT_TRUE(folded(s.disp));          // the add's immediate
  EXPECT_TRUE(folded(s.addr));          // [r15 + base + 8]
  EXPECT_TRUE(folded(s.shift_count));   // the shift's count
  EXPECT_TRUE(folded(s.scaled_shift));  // lea [base + index*8]
  EXPECT_FALSE(folded(s.scaled_sum));
  EXPECT_TRUE(folded(s.zext_get));
  EXPECT_FALSE(folded(s.zext_blocked_get));
  EXPECT_FALSE(folded(s.wide));
  size_t n = 0;
  for (uint8_t f : sel.folded) n += f;
  EXPECT_EQ(n, 5u);
  // The counts: base is read by the address, the scaled sum and a SetGpr.
  EXPECT_EQ(sel.uses[0], 3u);  // (base: the first value)
  EXPECT_EQ(sel.address_uses[s.addr.id], 1u);
  EXPECT_EQ(sel.uses[s.addr.id], 1u);
  EXPECT_EQ(sel.plain_accesses, 1u);
  EXPECT_EQ(sel.self_counting_before.size(), s.b.insts.size() + 1);
  EXPECT_EQ(sel.self_counting_before.back(), 0u);
}

TEST(JitOperandSelection, DisplacementsAndRegisterReadsFoldOnlyWhenAsked) {
  Sample s = sample();
  OperandSelection sel = select_operands(s.b, false, false);
  EXPECT_FALSE(sel.folded[s.addr.id]);      // the address computed in a register
  EXPECT_TRUE(sel.folded[s.disp.id]);       // (still the add's immediate)
  EXPECT_FALSE(sel.folded[s.zext_get.id]);
  EXPECT_TRUE(sel.folded[s.scaled_shift.id]);
  // The same selection object reused for a second block: nothing carried over.
  ir::Block other;
  ir::Builder ir(other);
  const Value c = ir.constant(0x123456789ull);
  ir.set_gpr(0, c);
  ir.jump(0x2000);
  select_operands(other, sel, true, true);
  ASSERT_EQ(sel.folded.size(), other.insts.size());
  EXPECT_FALSE(sel.folded[c.id]);
  EXPECT_EQ(sel.uses[c.id], 1u);
  EXPECT_EQ(sel.plain_accesses, 0u);
}

TEST(JitOperandSelection, NarrowZeroExtensionsOfARegisterFoldItsRead) {
  // `movzx eax, ax` and `movzx ecx, cl`: a movzx from CpuState (or the dirty host register),
  // not a 64-bit load and a movzx; a GetGpr something else reads too stays a register.
  ir::Block b;
  ir::Builder ir(b);
  const Value word = ir.get_gpr(0), byte = ir.get_gpr(1), shared = ir.get_gpr(2);
  const Value w = ir.op(Opcode::ZeroExt16, word);
  const Value c = ir.op(Opcode::ZeroExt8, byte);
  const Value s8 = ir.op(Opcode::ZeroExt8, shared);
  ir.set_gpr(0, w);
  ir.set_gpr(1, c);
  ir.set_gpr(3, s8);
  ir.set_gpr(4, shared);
  b.guest_insns = 4;
  ir.jump(0x1000);
  const OperandSelection sel = select_operands(b, true, true);
  EXPECT_TRUE(sel.folded[word.id]);
  EXPECT_TRUE(sel.folded[byte.id]);
  EXPECT_FALSE(sel.folded[shared.id]);
  EXPECT_FALSE(select_operands(b, true, false).folded[word.id]);  // (not in a loop in place)
}

TEST(JitOperandSelection, CountsFallbacksBeforeEachPositionAndFusesABranchOnLazyFlags) {
  ir::Block b;
  ir::Builder ir(b);
  const Value a = ir.get_gpr(0), k = ir.constant(1);
  ir.emit(Opcode::Interpret, {ir::Arg::imm(0)});
  const Value f = ir.emit(Opcode::FlagsSub, {ir::Arg::val(a), ir::Arg::val(k), ir::Arg::imm(8)});
  const Value cond = ir.emit(Opcode::TestCond, {ir::Arg::val(f), ir::Arg::imm(4)});
  ir.branch(cond, 0x1000, 0x2000);
  const OperandSelection sel = select_operands(b, true, true);
  EXPECT_TRUE(sel.fused_branch);
  EXPECT_TRUE(sel.folded[cond.id]);
  EXPECT_TRUE(sel.folded[k.id]);  // (FlagsSub's immediate)
  EXPECT_EQ(sel.self_counting_before[2], 0u);
  EXPECT_EQ(sel.self_counting_before[3], 1u);
  EXPECT_EQ(sel.self_counting_before[b.insts.size()], 1u);
}

}  // namespace
}  // namespace vireo::jit
