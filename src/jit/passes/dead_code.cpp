// Flag liveness and dead code (eliminate_dead_flags_and_code, passes.h): one backward walk
// over use counts taken forward.
#include <vector>

#include "cpu/cpu_state.h"
#include "jit/passes/passes.h"
#include "jit/passes/steps.h"

namespace vireo::jit::passes {

using ir::Opcode;

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

// By the time the walk reaches an instruction, every reader of its value (all later, SSA)
// has been seen, so its use count is final. A value nothing reads is deleted before it can
// count as a reader of the flags (a GetFlags only a dead instruction read).
void DeadFlagsAndCode::backward(uint32_t i, ir::Inst& in) {
  if (in.op == Opcode::SetFlags) {
    // Only the arithmetic flags are tracked: any other bit (DF) is always live.
    const uint64_t mask = in.args[0].v & (live_ | ~flag::ARITH);
    if (mask == 0) {
      in.dead = true;
      if (!in.args[1].is_imm) --uses[in.args[1].v];
      return;
    }
    in.args[0].v = mask;
    live_ &= ~mask;
    return;
  }
  if (uses[i] == 0 && !has_side_effects(in.op)) {
    in.dead = true;
    for (int a = 0; a < in.nargs; ++a)
      if (!in.args[a].is_imm) --uses[in.args[a].v];
    return;
  }
  if (in.op == Opcode::GetFlags || is_sync_point(in.op) || in.op == Opcode::TailStart) live_ = flag::ARITH;
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
