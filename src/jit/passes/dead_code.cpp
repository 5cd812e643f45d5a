// Flag liveness and dead code (eliminate_dead_flags_and_code, passes.h): one backward walk
// over use counts taken forward.
#include <vector>

#include "jit/passes/passes.h"
#include "jit/passes/steps.h"

namespace vireo::jit::passes {

namespace detail {

namespace {
thread_local std::vector<uint32_t> uses;  // (per-thread scratch)
}  // namespace

DeadFlagsAndCode::DeadFlagsAndCode(size_t n) : live_(flag::ARITH) {  // (live at the block's end)
  uses.assign(n, 0);
  uses_ = uses.data();
}

void DeadFlagsAndCode::count_terminals(const ir::Block& b) {
  b.for_each_terminal([&](const ir::Terminal& t) {
    if (t.cond.valid()) ++uses[t.cond.id];
    if (t.dest.valid()) ++uses[t.dest.id];
  });
}

}  // namespace detail

void eliminate_dead_flags_and_code(ir::Block& b) {
  detail::DeadFlagsAndCode step(b.insts.size());
  for (const ir::Inst& in : b.insts)
    if (!in.dead) step.count(in);
  step.count_terminals(b);
  for (size_t i = b.insts.size(); i-- > 0;)
    if (!b.insts[i].dead) step.backward(uint32_t(i), b.insts[i]);
}

}  // namespace vireo::jit::passes
