// Back edges followed (docs/jit.md, "Back edges followed from a call's continuation"): a block
// that starts where a call in a loop body returns follows the loop's conditional back edge
// into the loop's head, the loop's exit becoming its side exit (the branch's condition
// negated). Shapes from translate_block; runs compared with the interpreter on every
// condition code, with faults in the followed head.
#include "jit/frontend/translator.h"
#include "jit/ir/ir.h"
#include "jit/passes/passes.h"
#include "jit_harness.h"

namespace vireo::test {

namespace ir = jit::ir;
namespace {

// L:    mov rax, [rdi]; add rdi, 8; call r13
// C:    add rdx, rax; dec r12d; jz done; cmp rax, rbx; jCC L
//       inc rsi; jmp L
// done: syscall
// f:    add rax, rsi; rol rax, 13; ret
std::vector<uint8_t> loop_with_call(uint8_t jcc = 0x75) {
  return {0x48, 0x8B, 0x07, 0x48, 0x83, 0xC7, 0x08, 0x41, 0xFF, 0xD5,  // L
          0x48, 0x01, 0xC2, 0x41, 0xFF, 0xCC, 0x74, 0x0A, 0x48, 0x39, 0xD8, jcc, 0xE9,  // C
          0x48, 0xFF, 0xC6, 0xEB, 0xE4,                                   // inc rsi; jmp L
          0x0F, 0x05,                                                     // done
          0xCC, 0xCC,
          0x48, 0x01, 0xF0, 0x48, 0xC1, 0xC0, 0x0D, 0xC3};                // f
}
constexpr uint64_t kHead = kCode, kCont = kCode + 0x0A, kNotTaken = kCode + 0x17, kF = kCode + 0x20;

CpuState loop_state(uint64_t seed) {
  CpuState s = random_state(seed);
  s.gpr[R13] = kF;
  s.gpr[R12] = 20 + seed % 23;  // iterations, past the tier's threshold
  s.gpr[RDI] = kData;
  return s;
}

std::vector<uint64_t> exit_targets(const ir::Block& b) {
  std::vector<uint64_t> t;
  for (const ir::Inst& in : b.insts)
    if (!in.dead && in.op == ir::Opcode::ExitIf) t.push_back(in.args[1].v);
  return t;
}

}  // namespace

TEST(JitBackEdges, ACallsContinuationFollowsTheBackEdgeIntoTheLoopHead) {
  Machine m;
  m.load(loop_with_call());
  ir::Block b;
  std::vector<jit::FallbackSite> fallbacks;
  ASSERT_TRUE(jit::translate_block(m.as.memory(), kCont, {}, b, fallbacks, false));
  jit::passes::optimize(b);
  EXPECT_EQ(ir::verify(b), "");
  ASSERT_EQ(b.code.size(), 2u);  // C, then L
  EXPECT_EQ(b.code[0].end, kCode + 0x17);
  EXPECT_EQ(b.code[1].begin, kHead);
  EXPECT_EQ(b.code[1].end, kCont);
  EXPECT_EQ(b.guest_insns, 8u);
  EXPECT_EQ(b.term.kind, ir::Terminal::Kind::Indirect);  // the call r13
  // The side exits: jz done, and the jne's fall-through (its condition negated: je).
  EXPECT_EQ(exit_targets(b), (std::vector<uint64_t>{kCode + 0x1C, kNotTaken}));
  for (const ir::Inst& in : b.insts)
    if (!in.dead && in.op == ir::Opcode::ExitIf && in.args[1].v == kNotTaken) {
      const ir::Inst& c = b.insts[in.args[0].v];
      ASSERT_EQ(c.op, ir::Opcode::TestCond);
      EXPECT_EQ(c.args[1].v, 0x4u);  // E
    }
}

TEST(JitBackEdges, OnlyAfterACallNorToTheBlocksStartNorWithoutSuperblocks) {
  Machine m;
  std::vector<jit::FallbackSite> fallbacks;
  // The same loop with the call r13 replaced by three nops: C does not follow a call.
  std::vector<uint8_t> code = loop_with_call();
  code[7] = code[8] = code[9] = 0x90;
  m.load(code);
  ir::Block plain;
  ASSERT_TRUE(jit::translate_block(m.as.memory(), kCont, {}, plain, fallbacks, false));
  // (the jcc's fall-through goes on, as before: its side exit is the back edge; then the jmp L
  // is followed, and L runs into C's jz again)
  EXPECT_EQ(exit_targets(plain), (std::vector<uint64_t>{kCode + 0x1C, kHead, kCode + 0x1C}));
  // After the call, without superblocks: the jne is the terminal, both ways chained.
  m.load(loop_with_call());
  jit::BlockLimits no_superblocks;
  no_superblocks.superblocks = false;
  ir::Block b;
  ASSERT_TRUE(jit::translate_block(m.as.memory(), kCont, no_superblocks, b, fallbacks, false));
  EXPECT_EQ(b.code.size(), 1u);
  // The loop's own block (from L) ends at the call: nothing to follow.
  ir::Block head;
  ASSERT_TRUE(jit::translate_block(m.as.memory(), kHead, {}, head, fallbacks, false));
  EXPECT_EQ(head.code.size(), 1u);
  EXPECT_EQ(head.term.kind, ir::Terminal::Kind::Indirect);
}

// after_call recognizes the calls that end at the block's start whatever their prefixes and
// form (it decodes only bytes whose opcode, past prefixes, is a call's): `call [rbx+8]`,
// `rex.w call rax`, and not the same bytes' length of other instructions.
TEST(JitBackEdges, AnyFormOfCallBeforeTheStartIsACall) {
  std::vector<jit::FallbackSite> fallbacks;
  for (std::vector<uint8_t> call : {std::vector<uint8_t>{0xFF, 0x53, 0x08}, {0x48, 0xFF, 0xD0}, {0x41, 0xFF, 0xD5}}) {
    Machine m;
    std::vector<uint8_t> code = loop_with_call();
    std::copy(call.begin(), call.end(), code.begin() + 7);
    m.load(code);
    ir::Block b;
    ASSERT_TRUE(jit::translate_block(m.as.memory(), kCont, {}, b, fallbacks, false));
    EXPECT_EQ(b.code.size(), 2u) << std::hex << int(call[0]) << " " << int(call[1]);
    EXPECT_EQ(exit_targets(b), (std::vector<uint64_t>{kCode + 0x1C, kNotTaken}));
  }
  for (std::vector<uint8_t> other : {std::vector<uint8_t>{0x48, 0x01, 0xC3}, {0xFF, 0xC0, 0x90}, {0x66, 0xFF, 0xC0}}) {
    Machine m;
    std::vector<uint8_t> code = loop_with_call();
    std::copy(other.begin(), other.end(), code.begin() + 7);
    m.load(code);
    ir::Block b;
    ASSERT_TRUE(jit::translate_block(m.as.memory(), kCont, {}, b, fallbacks, false));
    // (as with nops there: the jcc's fall-through goes on, its side exit the back edge)
    EXPECT_EQ(exit_targets(b), (std::vector<uint64_t>{kCode + 0x1C, kHead, kCode + 0x1C})) << std::hex << int(other[0]);
  }
}

TEST(JitBackEdges, EveryConditionMatchesTheInterpreter) {
  // Each jcc (70..7F) as the back edge; the flags of cmp rax, rbx decide, r12 ends the loop.
  for (uint8_t jcc = 0x70; jcc <= 0x7F; ++jcc) {
    for (uint64_t seed = 1; seed <= 6; ++seed) {
      SCOPED_TRACE(::testing::Message() << "jcc " << std::hex << int(jcc) << std::dec << " seed " << seed);
      Pair p;
      p.run(loop_with_call(jcc), loop_state(seed));
      ASSERT_EQ(p.ref.r, StopReason::Syscall);
      p.expect_same();
      if (HasFatalFailure()) return;
    }
  }
}

TEST(JitBackEdges, AFaultInTheFollowedHeadHasTheHeadsPcAndState) {
  // rdi walks off the end of the data region: the head's load faults in some iteration, in
  // the continuation's block (which followed the back edge) or in the head's own.
  uint64_t faults = 0;
  for (uint64_t seed = 1; seed <= 24; ++seed) {
    CpuState s = loop_state(seed);
    s.gpr[RDI] = kData + 0x10000 - 8 * (seed % 19 + 1);
    s.gpr[R12] = 30;
    for (uint8_t jcc : {uint8_t(0x75), uint8_t(0x72), uint8_t(0x7C)}) {
      SCOPED_TRACE(::testing::Message() << "seed " << seed << " jcc " << std::hex << int(jcc));
      Pair p;
      p.run(loop_with_call(jcc), s);
      p.expect_same();
      if (p.ref.r == StopReason::Fault) {
        ++faults;
        EXPECT_EQ(p.jit.cpu.rip, kHead);
        EXPECT_EQ(p.jit.cpu.gpr[RSP], kData + 0x8000);  // every call returned
      }
    }
  }
  EXPECT_GE(faults, 40u);
}

}  // namespace vireo::test
