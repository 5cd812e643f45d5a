// The IR builder's cache of guest state (ir::GuestStateCache): what it saves the frontend
// emitting (a GetGpr of a register the block read or wrote, a GetFlags that the last
// SetFlags covers) and what makes it forget (an interpreter fallback, a rep string helper).
// Runs through it are compared with the interpreter.
#include "jit/frontend/translator.h"
#include "jit/ir/builder.h"
#include "jit/ir/ir.h"
#include "jit_harness.h"

namespace vireo::test {

namespace ir = jit::ir;
using ir::Opcode;
namespace {

size_t count(const ir::Block& b, Opcode op, int64_t imm = -1) {
  size_t n = 0;
  for (const ir::Inst& in : b.insts)
    if (in.op == op && (imm < 0 || (in.nargs > 0 && in.args[0].is_imm && in.args[0].v == uint64_t(imm)))) ++n;
  return n;
}

}  // namespace

TEST(JitBuilderCache, AReadAfterAReadOrAWriteOfTheRegisterEmitsNoGetGpr) {
  ir::Block b;
  ir::Builder ir(b, true);
  const ir::Value rsi = ir.get_gpr(RSI);
  EXPECT_EQ(ir.get_gpr(RSI).id, rsi.id);  // read again: the same value
  const ir::Value sum = ir.op(Opcode::Add, rsi, ir.constant(5));
  ir.set_gpr(RAX, sum);
  EXPECT_EQ(ir.get_gpr(RAX).id, sum.id);  // read after the write: the value written
  EXPECT_EQ(count(b, Opcode::GetGpr), 1u);
  // A second write replaces the first.
  const ir::Value c = ir.constant(7);
  ir.set_gpr(RAX, c);
  EXPECT_EQ(ir.get_gpr(RAX).id, c.id);
  EXPECT_EQ(count(b, Opcode::GetGpr), 1u);
  ir.exit_to(0);
  EXPECT_EQ(ir::verify(b), "");
}

TEST(JitBuilderCache, FallbacksAndRepStringHelpersForgetTheRegistersAndFlags) {
  for (Opcode leaves : {Opcode::Interpret, Opcode::RepString}) {
    ir::Block b;
    ir::Builder ir(b, true);
    ir.set_gpr(RCX, ir.constant(3));
    ir.set_flags(flag::ARITH, ir.emit(Opcode::FlagsLogic, {ir::Arg::val(ir.get_gpr(RDX)), ir::Arg::imm(8)}));
    ir.emit(leaves, {ir::Arg::imm(0)});  // (runs guest code outside the IR: rcx, rdx, flags may change)
    const ir::Value rcx = ir.get_gpr(RCX);
    EXPECT_EQ(b.insts[rcx.id].op, Opcode::GetGpr);
    ir.get_gpr(RDX);
    EXPECT_EQ(count(b, Opcode::GetGpr, RDX), 2u);
    const ir::Value cond = ir.test_cond(4);  // jz: reads ZF, which the fallback may have changed
    EXPECT_EQ(b.insts[b.insts[cond.id].args[0].v].op, Opcode::GetFlags);
  }
}

TEST(JitBuilderCache, AConditionReadsTheLastFlagsValueOnlyWhenItSetTheFlagsTheConditionReads) {
  ir::Block b;
  ir::Builder ir(b, true);
  const ir::Value x = ir.get_gpr(RAX);
  const ir::Value one = ir.constant(1);
  const ir::Value add = ir.emit(Opcode::FlagsAdd, {ir::Arg::val(x), ir::Arg::val(one), ir::Arg::imm(8)});
  ir.set_flags(flag::ARITH, add);
  const ir::Value jb = ir.test_cond(2);  // CF: set by the add
  EXPECT_EQ(b.insts[jb.id].args[0].v, add.id);
  EXPECT_EQ(ir.flags_for(flag::CF).id, add.id);  // (adc/sbb's carry)
  EXPECT_EQ(count(b, Opcode::GetFlags), 0u);
  // inc leaves CF: a jb after it reads the guest's RFLAGS, a jz the inc's flags.
  const ir::Value inc = ir.emit(Opcode::FlagsInc, {ir::Arg::val(x), ir::Arg::imm(8)});
  ir.set_flags(flag::ARITH & ~flag::CF, inc);
  const ir::Value jz = ir.test_cond(4);
  EXPECT_EQ(b.insts[jz.id].args[0].v, inc.id);
  const ir::Value jb2 = ir.test_cond(2);
  EXPECT_EQ(b.insts[b.insts[jb2.id].args[0].v].op, Opcode::GetFlags);
  EXPECT_EQ(count(b, Opcode::GetFlags), 1u);
}

TEST(JitBuilderCache, EachConstantIsEmittedOncePerBlock) {
  ir::Block b;
  ir::Builder ir(b, true);
  const ir::Value eight = ir.constant(8);
  EXPECT_NE(ir.constant(16).id, eight.id);
  EXPECT_EQ(ir.constant(8).id, eight.id);  // (`push` after `push`)
  EXPECT_EQ(count(b, Opcode::Const), 2u);
  // Values that share a slot of the table: each is still its own constant.
  for (uint64_t v = 0; v < 200; ++v) EXPECT_EQ(b.insts[ir.constant(v << 20).id].args[0].v, v << 20);
}

TEST(JitBuilderCache, OffItEmitsEveryRead) {
  // (the passes' tests build their blocks by hand, instruction for instruction)
  ir::Block b;
  ir::Builder ir(b);
  ir.set_gpr(RAX, ir.constant(1));
  ir.get_gpr(RAX);
  ir.get_gpr(RAX);
  ir.set_flags(flag::ARITH, ir.emit(Opcode::FlagsLogic, {ir::Arg::val(ir.constant(0)), ir::Arg::imm(8)}));
  ir.test_cond(4);
  ir.constant(1);
  EXPECT_EQ(count(b, Opcode::GetGpr), 2u);
  EXPECT_EQ(count(b, Opcode::Const), 3u);
  EXPECT_EQ(count(b, Opcode::GetFlags), 1u);
}

TEST(JitBuilderCache, TheFrontendEmitsNoReadOfStateTheBlockAlreadyHolds) {
  // mov rax, rsi; add rax, 5; mov r8, rax; cmp rax, rdx; cmovb rcx, rax; jb +0 (then syscall)
  Machine m;
  m.load({0x48, 0x89, 0xF0, 0x48, 0x83, 0xC0, 0x05, 0x49, 0x89, 0xC0, 0x48, 0x39, 0xD0,
          0x48, 0x0F, 0x42, 0xC8, 0x72, 0x00, 0x0F, 0x05});
  ir::Block b;
  std::vector<jit::FallbackSite> fallbacks;
  ASSERT_TRUE(jit::translate_block(m.as.memory(), kCode, {}, b, fallbacks, false));
  EXPECT_EQ(ir::verify(b), "");
  EXPECT_EQ(count(b, Opcode::GetGpr, RAX), 0u);  // written before every read
  EXPECT_EQ(count(b, Opcode::GetGpr, RSI), 1u);
  EXPECT_EQ(count(b, Opcode::GetGpr, RCX), 1u);  // (cmov's old value)
  // cmovb and jb read the cmp's flags (syscall's RFLAGS for r11 is the one GetFlags)
  EXPECT_EQ(count(b, Opcode::GetFlags), 1u);
  size_t conds = 0;
  for (const ir::Inst& in : b.insts)
    if (in.op == Opcode::TestCond) {
      ++conds;
      EXPECT_EQ(b.insts[in.args[0].v].op, Opcode::FlagsSub);
    }
  EXPECT_EQ(conds, 2u);
  EXPECT_EQ(count(b, Opcode::Sub), 0u);          // (cmp: flags only)
}

TEST(JitBuilderCache, ARegisterCombinedWithItselfIsReadOnceAndNotComputed) {
  // test ecx, ecx; jz +0; xor edx, edx; and rsi, rsi; syscall
  const std::vector<uint8_t> code = {0x85, 0xC9, 0x74, 0x00, 0x31, 0xD2, 0x48, 0x21, 0xF6, 0x0F, 0x05};
  {
    Machine m;
    m.load(code);
    ir::Block b;
    std::vector<jit::FallbackSite> fallbacks;
    ASSERT_TRUE(jit::translate_block(m.as.memory(), kCode, {}, b, fallbacks, false));
    EXPECT_EQ(ir::verify(b), "");
    EXPECT_EQ(count(b, Opcode::And), 1u) << ir::print(b);  // (syscall's RFLAGS & ~RF into r11)
    EXPECT_EQ(count(b, Opcode::Xor), 0u);
    EXPECT_EQ(count(b, Opcode::GetGpr, RCX), 1u);
    EXPECT_EQ(count(b, Opcode::GetGpr, RDX), 0u);  // (xor edx, edx: 0 whatever it held)
  }
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    CpuState s = random_state(seed);
    if (seed & 1) s.gpr[RCX] = uint64_t(seed) << 32;  // ecx 0, rcx not
    Pair p;
    p.run(code, s);
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    p.expect_same();
  }
}

TEST(JitBuilderCache, RunsAcrossFallbacksAndRepStringsMatchTheInterpreter) {
  const std::vector<uint8_t> code = {
      0x48, 0x89, 0xF0,              // mov rax, rsi
      0x48, 0x83, 0xC0, 0x05,        // add rax, 5
      0x0F, 0xA2,                    // cpuid (interpreted: writes rax, rbx, rcx, rdx)
      0x48, 0x01, 0xF0,              // add rax, rsi
      0x49, 0x89, 0xC0,              // mov r8, rax
      0x48, 0x89, 0xDA,              // mov rdx, rbx
      0x48, 0x8D, 0x3D, 0xE7, 0xFF, 0x00, 0x00,  // lea rdi, [rip + 0xffe7] (the data page)
      0xB9, 0x03, 0x00, 0x00, 0x00,  // mov ecx, 3
      0xB0, 0x41,                    // mov al, 0x41
      0xF3, 0xAA,                    // rep stosb (a helper: rcx, rdi change)
      0x48, 0x89, 0xCA,              // mov rdx, rcx
      0x49, 0x89, 0xF9,              // mov r9, rdi
      0x48, 0x39, 0xD0,              // cmp rax, rdx
      0x0F, 0x92, 0xC3,              // setb bl
      0x0F, 0x05};                   // syscall
  ir::Block b;
  {
    Machine m;
    m.load(code);
    std::vector<jit::FallbackSite> fallbacks;
    ASSERT_TRUE(jit::translate_block(m.as.memory(), kCode, {}, b, fallbacks, false));
    ASSERT_EQ(count(b, Opcode::Interpret), 1u);  // (what the test is about)
    ASSERT_EQ(count(b, Opcode::RepString), 1u);
    EXPECT_EQ(count(b, Opcode::GetGpr, RAX), 2u);  // after cpuid, after rep stosb (not mov al's)
    EXPECT_EQ(count(b, Opcode::GetGpr, RCX), 1u);  // after rep stosb
    EXPECT_EQ(count(b, Opcode::GetGpr, RDI), 1u);
  }
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    CpuState s = random_state(seed);
    s.gpr[RAX] = seed & 1 ? 0 : 7;  // (cpuid leaves)
    s.rflags &= ~flag::DF;
    Pair p;
    p.run(code, s);
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    p.expect_same();
  }
}

}  // namespace vireo::test
