// JIT IR: the opcode table, builder, printer and verifier.
#include <gtest/gtest.h>

#include "jit/ir/builder.h"

namespace vireo::jit::ir {
namespace {

TEST(JitIr, OpcodeTableDrivesInfo) {
  EXPECT_STREQ(info(Opcode::Add).name, "Add");
  EXPECT_EQ(info(Opcode::Add).result, Type::U64);
  EXPECT_EQ(info(Opcode::Add).nargs, 2);
  EXPECT_EQ(info(Opcode::SetGpr).result, Type::Void);
  EXPECT_EQ(info(Opcode::SetGpr).args[0], Type::Imm);
  EXPECT_EQ(info(Opcode::TestCond).result, Type::U1);
}

// add rax, rbx ; jz target  — as a frontend would emit it.
Block add_then_branch() {
  Block b;
  b.guest_pc = 0x401000;
  Builder ir(b);
  ir.set_guest_pc(0x401000);
  Value a = ir.get_gpr(0), c = ir.get_gpr(3);
  Value r = ir.op(Opcode::Add, a, c);
  ir.set_gpr(0, r);
  Value f = ir.emit(Opcode::FlagsAdd, {Arg::val(a), Arg::val(c), Arg::imm(8)});
  ir.set_flags(0x8D5, f);
  ir.set_guest_pc(0x401003);
  Value z = ir.emit(Opcode::TestCond, {Arg::val(f), Arg::imm(4)});
  ir.branch(z, 0x402000, 0x401005);
  return b;
}

TEST(JitIr, ValidBlockVerifiesAndPrints) {
  Block b = add_then_branch();
  EXPECT_EQ(verify(b), "");
  std::string text = print(b);
  EXPECT_NE(text.find("%2 = Add %0, %1"), std::string::npos) << text;
  EXPECT_NE(text.find("SetGpr #0x0, %2"), std::string::npos) << text;
  EXPECT_NE(text.find("-> if %6 then 0x402000 else 0x401005"), std::string::npos) << text;
  EXPECT_NE(text.find("; 0x401003"), std::string::npos) << text;
}

TEST(JitIr, CompactDropsDeadInstructionsAndRenumbersTheRest) {
  // The backend compacts a block first: values, the terminals' conditions and the tail's
  // markers follow their instructions to their new ids.
  Block b;
  Builder ir(b);
  Value a = ir.get_gpr(0), c = ir.get_gpr(3);
  b.insts[ir.constant(7).id].dead = true;
  Value r = ir.op(Opcode::Add, a, c);
  ir.set_gpr(0, r);
  b.insts.back().dead = true;
  Value f = ir.emit(Opcode::FlagsAdd, {Arg::val(a), Arg::val(c), Arg::imm(8)});
  ir.set_flags(0x8D5, f);
  Value z = ir.emit(Opcode::TestCond, {Arg::val(f), Arg::imm(4)});
  b.tail.entry = ir.emit(Opcode::ExitIf, {Arg::val(z), Arg::imm(0x403000), Arg::imm(1)}).id;
  b.tail.start = ir.emit(Opcode::TailStart, {}).id;
  ir.set_gpr(1, r);
  b.term = {Terminal::Kind::Branch, 0x402000, 0x401005, z, {}};
  b.tail.term = {Terminal::Kind::Jump, 0x401000, 0, {}, {}};
  ASSERT_EQ(verify(b), "");
  compact(b);
  EXPECT_EQ(verify(b), "");
  ASSERT_EQ(b.insts.size(), 9u);  // two of eleven dropped
  EXPECT_EQ(b.insts[2].op, Opcode::Add);
  EXPECT_EQ(b.insts[3].op, Opcode::FlagsAdd);
  EXPECT_EQ(b.insts[4].args[1].v, 3u);  // SetFlags %3
  EXPECT_EQ(b.insts[5].args[0].v, 3u);  // TestCond %3
  EXPECT_EQ(b.term.cond.id, 5u);
  EXPECT_EQ(b.tail.entry, 6u);
  EXPECT_EQ(b.insts[6].args[0].v, 5u);
  EXPECT_EQ(b.tail.start, 7u);
  EXPECT_EQ(b.insts[8].args[1].v, 2u);  // the tail's SetGpr of the Add
}

TEST(JitIr, VerifierRejectsTypeErrors) {
  Block b = add_then_branch();
  b.term.cond = Value{2};  // a u64, not a u1
  EXPECT_NE(verify(b).find("expected u1"), std::string::npos);

  Block c = add_then_branch();
  c.insts[2].args[1] = Arg::imm(5);  // Add takes two values
  EXPECT_NE(verify(c).find("must be a value"), std::string::npos);

  Block d = add_then_branch();
  d.insts[0].dead = true;  // used later
  EXPECT_NE(verify(d).find("is dead"), std::string::npos);

  Block e = add_then_branch();
  e.term.kind = Terminal::Kind::None;
  EXPECT_EQ(verify(e), "block has no terminal");
}

TEST(JitIr, UseBeforeDefinitionIsRejected) {
  Block b;
  Builder ir(b);
  ir.emit(Opcode::Not, {Arg::val(Value{1})});
  ir.constant(1);
  ir.exit_to(0);
  EXPECT_NE(verify(b).find("not defined before use"), std::string::npos);
}

}  // namespace
}  // namespace vireo::jit::ir
