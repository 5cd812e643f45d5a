// Block shapes beyond straight-line code: followed jmps (the block goes on at the target), and
// tails (ir::Tail: the path of a side exit that leads back to the block's start, translated
// into the block, so that an if/else inside a loop stays one loop in place). Runs are compared
// with the interpreter.
#include "jit/ir/builder.h"
#include "jit/ir/ir.h"
#include "jit/passes/passes.h"
#include "jit/frontend/translator.h"
#include "jit_harness.h"

namespace vireo::test {

namespace ir = jit::ir;
namespace {

// int_heavy's loop, with a memory access on each path:
//   jmp S
//   odd: shr rax,3; add rcx,1; add r9,[rdi+8]; add rdi,16; dec r12d; jz done   (the tail)
//   S:   mov rax,rdx; shl rax,13; xor rdx,rax; mov rax,rdx; shr rax,7; xor rdx,rax;
//        mov rax,rdx; imul rax,r8; test al,1; jnz odd
//        shl rax,5; or rax,rcx; xor rsi,rax; add rsi,[rdi]; add rdi,8; dec r12d; jnz S
//   done: syscall
const std::vector<uint8_t> kIfElseLoop = {
    0xEB, 0x15, 0x48, 0xC1, 0xE8, 0x03, 0x48, 0x83, 0xC1, 0x01, 0x4C, 0x03, 0x4F, 0x08, 0x48, 0x83,
    0xC7, 0x10, 0x41, 0xFF, 0xCC, 0x74, 0x35, 0x48, 0x89, 0xD0, 0x48, 0xC1, 0xE0, 0x0D, 0x48, 0x31,
    0xC2, 0x48, 0x89, 0xD0, 0x48, 0xC1, 0xE8, 0x07, 0x48, 0x31, 0xC2, 0x48, 0x89, 0xD0, 0x49, 0x0F,
    0xAF, 0xC0, 0xA8, 0x01, 0x75, 0xCC, 0x48, 0xC1, 0xE0, 0x05, 0x48, 0x09, 0xC8, 0x48, 0x31, 0xC6,
    0x48, 0x03, 0x37, 0x48, 0x83, 0xC7, 0x08, 0x41, 0xFF, 0xCC, 0x75, 0xCB, 0x0F, 0x05};
constexpr uint64_t kLoopStart = kCode + 0x17, kOdd = kCode + 0x02;

// add rax,1; jmp A; B: add rax,4; jmp C; A: add rax,2; jmp B; C: add rax,8; jmp A
const std::vector<uint8_t> kJumpChain = {0x48, 0x83, 0xC0, 0x01, 0xEB, 0x06, 0x48, 0x83,
                                         0xC0, 0x04, 0xEB, 0x06, 0x48, 0x83, 0xC0, 0x02,
                                         0xEB, 0xF4, 0x48, 0x83, 0xC0, 0x08, 0xEB, 0xF4};

}  // namespace

TEST(JitBlockShape, JmpsOnThePageAreFollowedUntilCodeAlreadyInTheBlock) {
  Machine m;
  m.load(kJumpChain);
  ir::Block b;
  std::vector<jit::FallbackSite> fallbacks;
  ASSERT_TRUE(jit::translate_block(m.as.memory(), kCode, {}, b, fallbacks, false));
  EXPECT_EQ(ir::verify(b), "");
  EXPECT_EQ(b.guest_insns, 8u);
  ASSERT_EQ(b.code.size(), 4u);  // 0, A, B, C
  EXPECT_EQ(b.code[1].begin, kCode + 0x0C);
  EXPECT_EQ(b.code[2].begin, kCode + 0x06);
  EXPECT_EQ(b.code[3].begin, kCode + 0x12);
  EXPECT_EQ(b.code[3].end, kCode + 0x18);
  // C's jmp A leads back into the block: the terminal, not followed again.
  EXPECT_EQ(b.term.kind, ir::Terminal::Kind::Jump);
  EXPECT_EQ(b.term.target, kCode + 0x0C);
  // Nor is a jmp to another page, nor any jmp without superblocks.
  std::vector<uint8_t> far = {0xE9, 0xFB, 0x0F, 0x00, 0x00};  // jmp kCode + 0x1000
  m.load(far);
  ir::Block f;
  ASSERT_TRUE(jit::translate_block(m.as.memory(), kCode, {}, f, fallbacks, false));
  EXPECT_EQ(f.code.size(), 1u);
  EXPECT_EQ(f.term.target, kCode + 0x1000);
  m.load(kJumpChain);
  ir::Block plain;
  jit::BlockLimits no_superblocks;
  no_superblocks.superblocks = false;
  ASSERT_TRUE(jit::translate_block(m.as.memory(), kCode, no_superblocks, plain, fallbacks, false));
  EXPECT_EQ(plain.guest_insns, 2u);
}

TEST(JitBlockShape, FollowedCodeMatchesInterpreterAndInvalidatesTheBlock) {
  // The chain above, ending: C: add rax,8; dec r12d; jnz A; syscall
  std::vector<uint8_t> code = {0x48, 0x83, 0xC0, 0x01, 0xEB, 0x06, 0x48, 0x83, 0xC0, 0x04,
                               0xEB, 0x06, 0x48, 0x83, 0xC0, 0x02, 0xEB, 0xF4, 0x48, 0x83,
                               0xC0, 0x08, 0x41, 0xFF, 0xCC, 0x75, 0xF1, 0x0F, 0x05};
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    CpuState s = random_state(seed);
    s.gpr[R12] = seed;
    Pair p;
    p.run(code, s);
    p.expect_same();
  }
  // Invalidating C's bytes removes the blocks that followed a jmp there.
  Machine m;
  m.load(code);
  m.cpu.gpr[R12] = 5;
  jit::JitEngine e(m.as.memory(), {});
  ASSERT_EQ(e.run(m.cpu), StopReason::Syscall);
  e.invalidate(kCode + 0x12, 1);
  EXPECT_GE(e.stats().invalidations, 1u);
}

TEST(JitTail, IfElseInALoopBecomesOneBlockWithATail) {
  Machine m;
  m.load(kIfElseLoop);
  ir::Block b;
  std::vector<jit::FallbackSite> fallbacks;
  ASSERT_TRUE(jit::translate_block(m.as.memory(), kLoopStart, {}, b, fallbacks, false));
  jit::passes::optimize(b);
  EXPECT_EQ(ir::verify(b), "");
  ASSERT_TRUE(b.tail.present());
  EXPECT_EQ(b.tail.guest_pc, kOdd);
  EXPECT_EQ(b.tail.guest_end, kLoopStart);
  EXPECT_EQ(b.insts[b.tail.entry].args[1].v, kOdd);  // the jnz odd
  EXPECT_EQ(b.guest_insns, 17u);
  EXPECT_EQ(b.tail.guest_insns, 10u + 6u);  // to the jnz, then the tail's six
  // The tail leaves at jz done, or falls into the start.
  EXPECT_EQ(b.tail.term.kind, ir::Terminal::Kind::Branch);
  EXPECT_EQ(b.tail.term.fallthrough, kLoopStart);
  EXPECT_NE(ir::print(b).find("tail 0x10002"), std::string::npos);
}

TEST(JitTail, VerifierRejectsATailThatReadsTheBlocksLaterValues) {
  Machine m;
  m.load(kIfElseLoop);
  ir::Block b;
  std::vector<jit::FallbackSite> fallbacks;
  ASSERT_TRUE(jit::translate_block(m.as.memory(), kLoopStart, {}, b, fallbacks, false));
  ASSERT_TRUE(b.tail.present());
  // A value of the block's own code after the ExitIf (not run on the tail's path).
  ir::Builder ir(b);
  uint32_t later = b.tail.entry + 1;
  while (ir::info(b.insts[later].op).result != ir::Type::U64) ++later;
  ir.set_gpr(3, ir::Value{later});
  b.tail.term = {ir::Terminal::Kind::Jump, kLoopStart, 0, {}, {}};
  EXPECT_NE(ir::verify(b).find("after the tail's ExitIf"), std::string::npos);
}

TEST(JitTail, IfElseLoopMatchesInterpreterOnEveryPathAndFault) {
  // Random outcomes of `test al,1`; rdi walks to the end of the data region, so that runs
  // fault in a later iteration, on either path (add r9,[rdi+8] in the tail, add rsi,[rdi] in
  // the block's own code), or finish first.
  uint64_t tails = 0, loops = 0;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    CpuState s = random_state(seed);
    s.gpr[R12] = 1 + seed * 7 % 40;                        // iterations
    s.gpr[RDI] = kData + 0x10000 - 8 * (seed * 13 % 90);   // faults after a while, or not
    for (bool chain : {true, false}) {
      jit::JitOptions o;
      o.chain = chain;  // (off: the tail is a path to a chainable exit, no loop in place)
      Pair p;
      p.run(kIfElseLoop, s, o);
      SCOPED_TRACE(::testing::Message() << "seed " << seed << " chain " << chain);
      p.expect_same();
      tails += p.jit_tails;
      if (chain) loops += p.jit_self_loops;
    }
  }
  // (the block at the jmp S follows it into the loop's first iteration: a run that ends or
  // faults early never translates the loop's own block)
  EXPECT_GE(tails, 100u);
  EXPECT_GE(loops, 50u);
}

TEST(JitTail, RewritingTheTailsCodeInvalidatesTheBlock) {
  // The loop above, where the else path (not the tail) stores r12b into the immediate of
  // the tail's `add rcx, 1` (mov [rip-0x3e], r12b), which lies before the block's start: the
  // next time the tail runs it must add the new value.
  const std::vector<uint8_t> code = {
      0xEB, 0x15, 0x48, 0xC1, 0xE8, 0x03, 0x48, 0x83, 0xC1, 0x01, 0x4C, 0x03, 0x4F, 0x08, 0x48,
      0x83, 0xC7, 0x10, 0x41, 0xFF, 0xCC, 0x74, 0x39, 0x48, 0x89, 0xD0, 0x48, 0xC1, 0xE0, 0x0D,
      0x48, 0x31, 0xC2, 0x48, 0x89, 0xD0, 0x48, 0xC1, 0xE8, 0x07, 0x48, 0x31, 0xC2, 0x48, 0x89,
      0xD0, 0x49, 0x0F, 0xAF, 0xC0, 0xA8, 0x01, 0x75, 0xCC, 0x48, 0xC1, 0xE0, 0x05, 0x48, 0x09,
      0xC8, 0x48, 0x31, 0xC6, 0x44, 0x88, 0x25, 0xC2, 0xFF, 0xFF, 0xFF, 0x48, 0x83, 0xC7, 0x08,
      0x41, 0xFF, 0xCC, 0x75, 0xC7, 0x0F, 0x05};
  uint64_t invalidated = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    CpuState s = random_state(seed);
    s.gpr[R12] = 20 + seed;
    s.gpr[RDI] = kData + 0x100;
    Pair p;
    p.run(code, s);
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    p.expect_same();
    invalidated += p.jit_smc_invalidated;
  }
  EXPECT_GE(invalidated, 1u);
}

TEST(JitTail, InvalidatingTheTailsBytesRemovesTheBlock) {
  // (munmap/mprotect/mremap invalidate a range: one that covers only the tail's code, below
  // the block's start, still removes the block)
  Machine m;
  m.load(kIfElseLoop);
  CpuState s = random_state(3);
  s.gpr[R12] = 10;
  s.gpr[RDI] = kData + 0x100;
  m.cpu = s;
  m.cpu.rip = kCode;
  jit::JitEngine e(m.as.memory(), {});
  ASSERT_EQ(e.run(m.cpu), StopReason::Syscall);
  ASSERT_GE(e.stats().tail_blocks, 1u);
  e.invalidate(kOdd + 4, 1);  // add rcx, 1
  EXPECT_EQ(e.stats().invalidations, 1u);
}

}  // namespace vireo::test
