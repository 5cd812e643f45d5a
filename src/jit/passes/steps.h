// The passes as per-instruction steps (internal to src/jit/passes/). Each pass of passes.h is
// a loop over its steps; the pipeline (optimize, pipeline.cpp) runs the steps of several
// passes in one walk where their order allows it: seven walks over the block become four,
// with the same result instruction for instruction (docs/jit.md, "IR passes").
//
// Conventions: the walk skips dead instructions; a forward walk rewrites an instruction's
// value arguments through the alias map before its steps run (the map holds the identity
// for every live value, so one map serves every pass of the pipeline); a step that deletes
// its instruction returns true and the walk runs no further step on it.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "jit/passes/passes.h"

namespace vireo::jit::passes::detail {

// The arguments of `in` through the alias map.
inline void alias_args(ir::Inst& in, const std::vector<uint32_t>& alias) {
  for (int a = 0; a < in.nargs; ++a)
    if (!in.args[a].is_imm) in.args[a].v = alias[in.args[a].v];
}

// One forward walk: each live instruction's arguments through the alias map, then
// `step(i, in)`; then the terminals' values through the map.
template <class Step>
void walk_forward(ir::Block& b, const std::vector<uint32_t>& alias, Step&& step) {
  const uint32_t n = uint32_t(b.insts.size());
  for (uint32_t i = 0; i < n; ++i) {
    ir::Inst& in = b.insts[i];
    if (in.dead) continue;
    alias_args(in, alias);
    step(i, in);
  }
  b.for_each_terminal([&](ir::Terminal& t) { alias_terminal(t, alias); });
}

// forward_guest_state (forward_state.cpp).
class GuestStateForwarding {
 public:
  explicit GuestStateForwarding(const ir::Block& b);
  // Forward: GetGpr of a known register and TestCond of a GetFlags the last SetFlags covers.
  bool forward(const ir::Block& b, uint32_t i, ir::Inst& in, std::vector<uint32_t>& alias);
  // Backward: a SetGpr overwritten later with no read or sync point in between is deleted.
  void backward(ir::Inst& in);

 private:
  std::array<ir::Value, 16> known_{};
  ir::Value flags_value_;  // value of the last SetFlags
  uint64_t flags_mask_ = 0;
  // The tail (ir::Tail) starts from what was known at its ExitIf.
  std::array<ir::Value, 16> known_at_entry_{};
  ir::Value flags_at_entry_;
  uint64_t mask_at_entry_ = 0;
  std::array<bool, 16> overwritten_{};
};

// fold_constants (fold_constants.cpp).
class ConstantFolding {
 public:
  explicit ConstantFolding(const ir::Block& b);
  bool forward(const ir::Block& b, uint32_t i, ir::Inst& in, std::vector<uint32_t>& alias);
};

// eliminate_zero_extensions (zero_extensions.cpp): the demand backward, then the
// rewriting forward.
class ZeroExtensions {
 public:
  // (after the terminals' values are final: they demand their values whole)
  explicit ZeroExtensions(const ir::Block& b);
  void backward(uint32_t i, const ir::Inst& in);
  void start_forward(size_t n);
  bool forward(uint32_t i, ir::Inst& in, std::vector<uint32_t>& alias);
};

// eliminate_dead_flags_and_code (dead_code.cpp): the use counts forward (after each
// instruction's last rewrite), then the backward walk.
class DeadFlagsAndCode {
 public:
  explicit DeadFlagsAndCode(size_t n);
  // (inline: a call per instruction from the pipeline's forward walk)
  void count(const ir::Inst& in) {
    for (int a = 0; a < in.nargs; ++a)
      if (!in.args[a].is_imm) ++uses_[in.args[a].v];
  }
  void count_terminals(const ir::Block& b);
  void backward(uint32_t i, ir::Inst& in);

 private:
  uint32_t* uses_;  // per value: its readers not deleted (per-thread scratch, dead_code.cpp)
  uint64_t live_;  // flags bits live after the instruction the backward walk is at
};

}  // namespace vireo::jit::passes::detail
