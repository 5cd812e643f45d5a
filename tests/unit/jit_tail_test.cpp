// Block tails (ir::Tail): the path of a side exit that leads back to the block's start,
// translated into the block (an if/else inside a loop stays one loop in place). Each run is
// compared with the interpreter.
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

}  // namespace

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
      EXPECT_GE(p.jit_tails, 1u);
      if (chain) EXPECT_GE(p.jit_self_loops, 1u);
    }
  }
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
