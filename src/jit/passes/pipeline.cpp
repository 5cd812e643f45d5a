// The standard pipeline (passes::optimize): the four passes' steps (steps.h) in four walks
// instead of seven, with the result of running the passes one after another.
//
//   forward:  forward_guest_state's forwarding, then fold_constants
//   backward: forward_guest_state's dead SetGpr, then eliminate_zero_extensions' demand
//   forward:  eliminate_zero_extensions' rewriting, then the dead code pass's use counts
//   backward: eliminate_dead_flags_and_code
//
// Why the fused order is the sequential one: a step at instruction i reads only what the
// earlier steps left at i and before it (forward) or after it (backward), and what a pass
// deletes or rewrites is not what an earlier-in-sequence pass, now fused later, looks at:
// fold_constants deletes only pure values (never a GetGpr, SetGpr, TailStart or sync point,
// all that the dead-SetGpr walk reads), and the dead SetGprs it would have skipped have no
// value that anything reads. The alias map holds the identity for every live value after each
// walk (only deleted instructions are aliased), so one map serves all the rewriting.
#include <vector>

#include "jit/passes/passes.h"
#include "jit/passes/steps.h"

namespace vireo::jit::passes {

std::vector<uint32_t>& identity_aliases(size_t n) {
  thread_local std::vector<uint32_t> alias;
  alias.resize(n);
  for (uint32_t i = 0; i < n; ++i) alias[i] = i;
  return alias;
}

void optimize(ir::Block& b) {
  const uint32_t n = uint32_t(b.insts.size());
  std::vector<uint32_t>& alias = identity_aliases(n);
  {
    detail::GuestStateForwarding forwarding(b);
    detail::ConstantFolding folding(b);
    detail::walk_forward(b, alias, [&](uint32_t i, ir::Inst& in) {
      if (!forwarding.forward(b, i, in, alias)) folding.forward(b, i, in, alias);
    });
    detail::ZeroExtensions zero_ext(b);
    for (uint32_t i = n; i-- > 0;) {
      ir::Inst& in = b.insts[i];
      if (in.dead) continue;
      forwarding.backward(in);
      if (!in.dead) zero_ext.backward(i, in);
    }
    zero_ext.start_forward(n);
    detail::DeadFlagsAndCode dead(n);
    // (walk_forward with the aliasing and the counting fused: what the zero-extension step
    // deletes, a ZeroExt32 become its operand, has its count taken back)
    for (uint32_t i = 0; i < n; ++i) {
      ir::Inst& in = b.insts[i];
      if (in.dead) continue;
      dead.alias_and_count(in, alias.data());
      if (zero_ext.forward(i, in, alias)) dead.uncount(in);
    }
    b.for_each_terminal([&](ir::Terminal& t) { alias_terminal(t, alias); });
    dead.count_terminals(b);
    for (uint32_t i = n; i-- > 0;)
      if (!b.insts[i].dead) dead.backward(i, b.insts[i]);
  }
}

}  // namespace vireo::jit::passes
