// passes::optimize runs the four passes' steps in four fused walks (src/jit/passes/
// pipeline.cpp): the result must be, instruction for instruction, what running the passes one
// after another gives. Compared over blocks the frontend translates from real machine code
// (this test binary's own text, entered at many offsets: straight-line code, branches,
// memory operands, flags of every kind, fallbacks).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "jit/frontend/translator.h"
#include "jit/ir/ir.h"
#include "jit/passes/passes.h"
#include "jit_harness.h"

namespace vireo::test {
namespace {

namespace ir = jit::ir;
namespace passes = jit::passes;

void expect_same_block(const ir::Block& a, const ir::Block& b, uint64_t pc) {
  ASSERT_EQ(a.insts.size(), b.insts.size()) << std::hex << pc;
  for (size_t i = 0; i < a.insts.size(); ++i) {
    const ir::Inst &x = a.insts[i], &y = b.insts[i];
    ASSERT_EQ(x.dead, y.dead) << std::hex << pc << " inst " << std::dec << i;
    if (x.dead) continue;
    ASSERT_EQ(x.op, y.op) << std::hex << pc << " inst " << std::dec << i;
    ASSERT_EQ(x.nargs, y.nargs);
    for (int k = 0; k < x.nargs; ++k) {
      ASSERT_EQ(x.args[k].is_imm, y.args[k].is_imm) << std::hex << pc << " inst " << std::dec << i;
      ASSERT_EQ(x.args[k].v, y.args[k].v) << std::hex << pc << " inst " << std::dec << i;
    }
  }
  EXPECT_EQ(a.term.cond.id, b.term.cond.id);
  EXPECT_EQ(a.term.dest.id, b.term.dest.id);
  EXPECT_EQ(a.tail.term.cond.id, b.tail.term.cond.id);
  EXPECT_EQ(a.tail.term.dest.id, b.tail.term.dest.id);
  EXPECT_EQ(ir::print(a), ir::print(b));
}

TEST(JitPassPipeline, FusedWalksGiveTheSequentialPassesResult) {
  Machine m;
  // 64 KiB of real x86-64 code: this binary's, from one of its larger functions on.
  std::vector<uint8_t> code(0x10000);
  std::memcpy(code.data(), reinterpret_cast<const void*>(&passes::optimize), code.size());
  m.load(code);
  unsigned blocks = 0, changed = 0;
  for (uint64_t off = 0; off < 0xF000; off += 97) {
    ir::Block b;
    std::vector<jit::FallbackSite> fallbacks;
    jit::BlockLimits limits;
    if (!jit::translate_block(m.as.memory(), kCode + off, limits, b, fallbacks, false)) continue;
    ir::Block fused = b, sequential = b;
    passes::optimize(fused);
    passes::forward_guest_state(sequential);
    passes::fold_constants(sequential);
    passes::eliminate_zero_extensions(sequential);
    passes::eliminate_dead_flags_and_code(sequential);
    expect_same_block(fused, sequential, kCode + off);
    EXPECT_EQ(ir::verify(fused), "");
    ++blocks;
    changed += ir::print(fused) != ir::print(b);
  }
  // (the comparison covered real work: most blocks change under the passes)
  EXPECT_GT(blocks, 400u);
  EXPECT_GT(changed, blocks / 2);
}

}  // namespace
}  // namespace vireo::test
