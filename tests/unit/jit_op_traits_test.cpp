// The passes' per-opcode table (jit/passes/op_traits.h): has_side_effects, is_sync_point and
// value numbering's purity, one load each, say what the opcode definitions say.
#include <gtest/gtest.h>

#include "jit/ir/ir.h"
#include "jit/passes/passes.h"

namespace vireo::test {

using jit::ir::Opcode;
namespace passes = jit::passes;

TEST(JitOpTraits, EffectsSyncPointsAndPurity) {
  struct Want {
    Opcode op;
    bool effects, sync, pure;
  };
  const Want want[] = {
      {Opcode::GetGpr, false, false, false},  // a read of guest state: not numbered
      {Opcode::SetGpr, true, false, false},
      {Opcode::GetFlags, false, false, false},
      {Opcode::SetFlags, true, false, false},
      {Opcode::Const, false, false, true},
      {Opcode::Add, false, false, true},
      {Opcode::Add32, false, false, true},
      {Opcode::ZeroExt32, false, false, true},
      {Opcode::TestCond, false, false, true},
      {Opcode::Load64, true, true, false},  // a load may fault
      {Opcode::Store8, true, true, false},
      {Opcode::ExitIf, true, true, false},
      {Opcode::TailStart, true, false, false},
      {Opcode::Interpret, true, true, false},
      {Opcode::SseRR, true, false, false},   // sticky MXCSR flags
      {Opcode::SseRM, true, true, false},
      {Opcode::VexRR, true, true, false},
      {Opcode::CheckCanonical, true, true, false},
      {Opcode::GetSegBase, false, false, false},
  };
  for (const Want& w : want) {
    const auto name = jit::ir::info(w.op).name;
    EXPECT_EQ(passes::has_side_effects(w.op), w.effects) << name;
    EXPECT_EQ(passes::is_sync_point(w.op), w.sync) << name;
    EXPECT_EQ(passes::detail::has_trait(w.op, passes::detail::kPure), w.pure) << name;
  }
  // Every sync point but none of the values numbered has effects; nothing with effects is pure.
  for (size_t k = 0; k < size_t(Opcode::Count); ++k) {
    const Opcode op = Opcode(k);
    if (passes::is_sync_point(op)) {
      EXPECT_TRUE(passes::has_side_effects(op)) << jit::ir::info(op).name;
    }
    if (passes::has_side_effects(op)) {
      EXPECT_FALSE(passes::detail::has_trait(op, passes::detail::kPure)) << jit::ir::info(op).name;
    }
  }
}

}  // namespace vireo::test
