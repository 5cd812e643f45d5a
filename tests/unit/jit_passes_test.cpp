// The IR passes on hand-built blocks: what each removes, and what it must keep.
#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "jit/ir/builder.h"
#include "jit/passes/passes.h"

namespace vireo::jit::ir {
namespace {

Value op(Builder& ir, Opcode o, Value a) { return ir.op(o, a); }

TEST(JitPasses, ZeroExtensionsOfZeroExtendedValuesAndOfUnreadUpperHalvesGo) {
  // mov ecx, esi; add edx, ecx; add rbx, <ebx zero-extended> — as the frontend emits them.
  Block b;
  Builder ir(b);
  Value esi = op(ir, Opcode::ZeroExt32, ir.get_gpr(6));        // %1
  Value ecx = op(ir, Opcode::ZeroExt32, esi);                   // %2: already zero-extended
  ir.set_gpr(1, ecx);
  Value edx = op(ir, Opcode::ZeroExt32, ir.get_gpr(2));        // %5: only its low half is read
  Value sum = ir.op(Opcode::Add, edx, ecx);                     // %6: upper half unread
  ir.set_gpr(2, op(ir, Opcode::ZeroExt32, sum));                // %7
  Value ebx = op(ir, Opcode::ZeroExt32, ir.get_gpr(3));        // %10: read whole by a 64-bit add
  ir.set_gpr(3, ir.op(Opcode::Add, ebx, ir.get_gpr(3)));
  ir.exit_to(0);
  passes::eliminate_zero_extensions(b);
  EXPECT_EQ(verify(b), "");
  // One zero-extension of esi is left (the one written to ecx), and it is of the GetGpr.
  EXPECT_TRUE(b.insts[esi.id].dead != b.insts[ecx.id].dead);
  EXPECT_TRUE(b.insts[edx.id].dead);
  EXPECT_EQ(b.insts[sum.id].op, Opcode::Add32);
  EXPECT_TRUE(b.insts[7].dead);
  EXPECT_FALSE(b.insts[ebx.id].dead);
  std::string text = print(b);
  EXPECT_NE(text.find("%2 = ZeroExt32 %0\n  SetGpr #0x1, %2"), std::string::npos) << text;
  EXPECT_NE(text.find("%6 = Add32 %4, %2\n  SetGpr #0x2, %6"), std::string::npos) << text;
}

TEST(JitPasses, NarrowShiftsAndPartialWritesPassTheUpperHalfThrough) {
  // A 16-bit shift keeps bits 63:16 of its operand: the operand's zero-extension is needed
  // when the shift's whole result is read, and MergeLow keeps its first operand's upper half.
  Block b;
  Builder ir(b);
  Value x = op(ir, Opcode::ZeroExt32, ir.get_gpr(0));  // %1
  Value s = ir.emit(Opcode::Shift, {Arg::imm(0 | 2 << 8 | 3 << 16), Arg::val(x)});
  ir.set_gpr(0, s);
  Value y = op(ir, Opcode::ZeroExt32, ir.get_gpr(1));  // %5
  ir.set_gpr(1, ir.emit(Opcode::MergeLow, {Arg::val(y), Arg::val(x), Arg::imm(1)}));
  ir.exit_to(0);
  passes::eliminate_zero_extensions(b);
  EXPECT_EQ(verify(b), "");
  EXPECT_FALSE(b.insts[x.id].dead);
  EXPECT_FALSE(b.insts[y.id].dead);
}

TEST(JitPasses, SetccIntoAZeroedRegisterIsTheConditionAsANumber) {
  // xor eax, eax; cmp ecx, edx; setb al: MergeLow(0, BoolToU64 c) is BoolToU64 c; not over a
  // register that may have other bits set (setb bl).
  Block b;
  Builder ir(b);
  Value zero = ir.constant(0);
  Value c = ir.emit(Opcode::TestCond, {Arg::val(ir.emit(Opcode::FlagsSub, {Arg::val(ir.get_gpr(1)), Arg::val(ir.get_gpr(2)), Arg::imm(4)})), Arg::imm(2)});
  Value setb = ir.op(Opcode::BoolToU64, c);
  Value al = ir.emit(Opcode::MergeLow, {Arg::val(zero), Arg::val(setb), Arg::imm(1)});
  ir.set_gpr(0, al);
  Value other = ir.emit(Opcode::MergeLow, {Arg::val(ir.get_gpr(3)), Arg::val(setb), Arg::imm(1)});
  ir.set_gpr(3, other);
  ir.exit_to(0);
  passes::fold_constants(b);
  EXPECT_EQ(verify(b), "");
  EXPECT_TRUE(b.insts[al.id].dead);
  EXPECT_EQ(b.insts[al.id + 1].args[1].v, setb.id);  // SetGpr rax <- the BoolToU64
  EXPECT_FALSE(b.insts[other.id].dead);
}

TEST(JitPasses, ByteTestWithASmallMaskNeedsNoZeroExtensions) {
  // test al, 1: ZeroExt8(And32(ZeroExt8(rax), 1)) is And32(rax, 1); a mask wider than the
  // byte keeps them (and 0x100 of a byte is 0, not rax's bit 8).
  Block b;
  Builder ir(b);
  Value rax = ir.get_gpr(0);
  Value one = ir.constant(1);
  Value al = ir.op(Opcode::ZeroExt8, rax);
  Value masked = ir.op(Opcode::And32, al, one);
  Value byte = ir.op(Opcode::ZeroExt8, masked);
  ir.set_flags(0x8d5, ir.emit(Opcode::FlagsLogic, {Arg::val(byte), Arg::imm(1)}));
  Value wide = ir.op(Opcode::And32, ir.op(Opcode::ZeroExt8, rax), ir.constant(0x100));
  ir.set_gpr(1, ir.op(Opcode::ZeroExt8, wide));
  ir.exit_to(0);
  passes::optimize(b);
  EXPECT_EQ(verify(b), "");
  EXPECT_EQ(b.insts[masked.id].args[0].v, rax.id);
  EXPECT_TRUE(b.insts[byte.id].dead);
  EXPECT_EQ(b.insts[byte.id + 1].args[0].v, masked.id);  // the flags are of the And itself
  EXPECT_NE(b.insts[wide.id].args[0].v, rax.id);
}

TEST(JitPasses, ADeadFlagsWriteTakesTheOldFlagsItKeptWithIt) {
  // sub rsp, 0x58; shl rdx, cl; shl r14, cl; sub r14, 1 (as the frontend emits them): each
  // shift by CL keeps the flags before it for a zero count, read through a GetFlags. The last
  // sub overwrites all six, so both shifts' flags are dead, and so are the GetFlags reading the
  // first sub's flags: that sub's flags need not be computed either.
  Block b;
  Builder ir(b);
  Value rsp = ir.get_gpr(4);
  Value c58 = ir.constant(0x58);
  ir.set_gpr(4, ir.op(Opcode::Sub, rsp, c58));
  Value first = ir.emit(Opcode::FlagsSub, {Arg::val(rsp), Arg::val(c58), Arg::imm(8)});
  ir.set_flags(0x8d5, first);
  Value count = ir.op(Opcode::ZeroExt8, ir.get_gpr(1));
  Value rdx = ir.get_gpr(2);
  Value old1 = ir.emit(Opcode::GetFlags, {});
  ir.set_gpr(2, ir.emit(Opcode::ShiftCl, {Arg::imm(0x800), Arg::val(rdx), Arg::val(count)}));
  Value f1 = ir.emit(Opcode::FlagsShiftCl, {Arg::imm(0x800), Arg::val(rdx), Arg::val(count), Arg::val(old1)});
  ir.set_flags(0x8d5, f1);
  Value r14 = ir.get_gpr(14);
  Value old2 = ir.emit(Opcode::GetFlags, {});
  Value shifted = ir.emit(Opcode::ShiftCl, {Arg::imm(0x800), Arg::val(r14), Arg::val(count)});
  Value f2 = ir.emit(Opcode::FlagsShiftCl, {Arg::imm(0x800), Arg::val(r14), Arg::val(count), Arg::val(old2)});
  ir.set_flags(0x8d5, f2);
  Value one = ir.constant(1);
  ir.set_gpr(14, ir.op(Opcode::Sub, shifted, one));
  Value last = ir.emit(Opcode::FlagsSub, {Arg::val(shifted), Arg::val(one), Arg::imm(8)});
  ir.set_flags(0x8d5, last);
  ir.exit_to(0);
  passes::optimize(b);
  EXPECT_EQ(verify(b), "");
  for (Value v : {first, old1, f1, old2, f2}) EXPECT_TRUE(b.insts[v.id].dead) << print(b);
  EXPECT_FALSE(b.insts[last.id].dead);
  EXPECT_FALSE(b.insts[shifted.id].dead);
}

TEST(JitPasses, FlagsKeptByAShiftStayWhenSomethingReadsThem) {
  // The same without the final sub: the second shift's flags are live at the block's end, so
  // everything they may keep (for a zero count) stays.
  Block b;
  Builder ir(b);
  Value rsp = ir.get_gpr(4);
  Value c58 = ir.constant(0x58);
  ir.set_gpr(4, ir.op(Opcode::Sub, rsp, c58));
  Value first = ir.emit(Opcode::FlagsSub, {Arg::val(rsp), Arg::val(c58), Arg::imm(8)});
  ir.set_flags(0x8d5, first);
  Value count = ir.op(Opcode::ZeroExt8, ir.get_gpr(1));
  Value rdx = ir.get_gpr(2);
  Value old1 = ir.emit(Opcode::GetFlags, {});
  ir.set_gpr(2, ir.emit(Opcode::ShiftCl, {Arg::imm(0x800), Arg::val(rdx), Arg::val(count)}));
  Value f1 = ir.emit(Opcode::FlagsShiftCl, {Arg::imm(0x800), Arg::val(rdx), Arg::val(count), Arg::val(old1)});
  ir.set_flags(0x8d5, f1);
  ir.exit_to(0);
  passes::optimize(b);
  EXPECT_EQ(verify(b), "");
  for (Value v : {first, old1, f1}) EXPECT_FALSE(b.insts[v.id].dead) << print(b);
}

TEST(JitPasses, EachFoldingRuleRewritesItsOwnOperationsOnly) {
  // fold_constants asks its rules by operation (one switch): each identity for the operations
  // it holds for, and not for the others (x ^ 0 is x, Xor32(x, 0) is x zero-extended).
  Block b;
  Builder ir(b);
  Value x = ir.get_gpr(0), y = ir.get_gpr(1);
  Value cond = ir.emit(Opcode::TestCond, {Arg::val(ir.emit(Opcode::GetFlags, {})), Arg::imm(4)});
  Value zero = ir.constant(0), one = ir.constant(1), c8 = ir.constant(8), m8 = ir.constant(uint64_t(-8));
  std::vector<std::pair<uint32_t, uint32_t>> to;  // (SetGpr, the value it must end up reading)
  std::vector<uint32_t> kept;                      // (SetGpr whose value must stay)
  auto set = [&](Value v) {
    ir.set_gpr(5, v);
    return uint32_t(b.insts.size() - 1);
  };
  for (Opcode o : {Opcode::Xor, Opcode::Xor32, Opcode::Sub, Opcode::Sub32})
    to.push_back({set(ir.op(o, x, x)), zero.id});
  for (Opcode o : {Opcode::Add, Opcode::Sub, Opcode::Or, Opcode::Xor, Opcode::Shl, Opcode::Shr})
    to.push_back({set(ir.op(o, x, zero)), x.id});
  to.push_back({set(ir.op(Opcode::Add, zero, x)), x.id});
  for (Opcode o : {Opcode::Sub, Opcode::Or, Opcode::Xor, Opcode::Xor32, Opcode::Or32, Opcode::Sub32, Opcode::And,
                   Opcode::Sar})
    kept.push_back(set(ir.op(o, zero, x)));
  for (Opcode o : {Opcode::Xor32, Opcode::Or32, Opcode::Sub32, Opcode::Add32, Opcode::And, Opcode::Sar})
    kept.push_back(set(ir.op(o, x, zero)));
  to.push_back({set(ir.op(Opcode::Add, c8, m8)), zero.id});  // folded, then numbered
  to.push_back({set(ir.op(Opcode::Add, ir.op(Opcode::Add, y, c8), m8)), y.id});  // (y + 8) + -8
  to.push_back({set(ir.op(Opcode::Add, m8, ir.op(Opcode::Add, c8, y))), y.id});
  to.push_back({set(ir.emit(Opcode::Select, {Arg::val(zero), Arg::val(x), Arg::val(y)})), y.id});
  to.push_back({set(ir.emit(Opcode::Select, {Arg::val(one), Arg::val(x), Arg::val(y)})), x.id});
  Value setcc = ir.emit(Opcode::Select, {Arg::val(cond), Arg::val(one), Arg::val(zero)});
  kept.push_back(set(setcc));
  Value sum = ir.op(Opcode::Add, x, y);
  to.push_back({set(ir.op(Opcode::Add, x, y)), sum.id});  // value numbering
  ir.exit_to(0);
  passes::fold_constants(b);
  EXPECT_EQ(verify(b), "");
  for (auto [at, want] : to) EXPECT_EQ(b.insts[at].args[1].v, want) << "at %" << at << "\n" << print(b);
  for (uint32_t at : kept) {
    const Inst& v = b.insts[b.insts[at].args[1].v];
    EXPECT_FALSE(v.dead) << "at %" << at << "\n" << print(b);
    EXPECT_NE(v.op, Opcode::Const) << "at %" << at << "\n" << print(b);
  }
  EXPECT_EQ(b.insts[setcc.id].op, Opcode::BoolToU64);
}

}  // namespace
}  // namespace vireo::jit::ir
