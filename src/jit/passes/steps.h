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

#include "cpu/cpu_state.h"
#include "jit/ir/builder.h"  // (flags_read_by)
#include "jit/passes/passes.h"

namespace vireo::jit::passes::detail {

// (The steps the pipeline runs on every instruction are inline here, their rare cases out of
// line: called per instruction from another file, the four passes' steps were calls with a
// per-thread vector's guard and data pointer loaded again in each, a quarter of the
// pipeline's instructions.)

// The arguments of `in` through the alias map. (The steps' loops over arguments run from
// `args` to its end, read once: `nargs` is a byte, which the compiler must otherwise load
// again after every store through the loop.)
inline void alias_args(ir::Inst& in, const std::vector<uint32_t>& alias) {
  const uint32_t* map = alias.data();
  for (ir::Arg *a = in.args, *end = in.args + in.nargs; a != end; ++a)
    if (!a->is_imm) a->v = map[a->v];
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
  bool forward(const ir::Block& b, uint32_t i, ir::Inst& in, std::vector<uint32_t>& alias) {
    if (i == b.tail.entry) known_at_entry_ = known_, flags_at_entry_ = flags_value_, mask_at_entry_ = flags_mask_;
    switch (in.op) {
      case ir::Opcode::TailStart:
        known_ = known_at_entry_;
        flags_value_ = flags_at_entry_;
        flags_mask_ = mask_at_entry_;
        break;
      case ir::Opcode::GetGpr: {
        ir::Value& k = known_[in.args[0].v & 15];
        if (k.valid()) {
          alias[i] = k.id;
          in.dead = true;
          return true;
        }
        k = ir::Value{i};
        break;
      }
      case ir::Opcode::SetGpr: known_[in.args[0].v & 15] = ir::Value{uint32_t(in.args[1].v)}; break;
      case ir::Opcode::SetFlags:
        flags_value_ = ir::Value{uint32_t(in.args[1].v)};
        flags_mask_ = in.args[0].v;
        break;
      case ir::Opcode::GetFlags:
        if (flags_value_.valid()) {
          getflags_valid_[i] = 1;
          getflags_src_[i] = flags_value_.id;
          getflags_mask_[i] = flags_mask_;
        }
        break;
      case ir::Opcode::TestCond: {
        const uint32_t f = uint32_t(in.args[0].v);
        if (b.insts[f].op == ir::Opcode::GetFlags && getflags_valid_[f] &&
            (ir::flags_read_by(in.args[1].v) & ~getflags_mask_[f]) == 0)
          in.args[0].v = getflags_src_[f];
        break;
      }
      case ir::Opcode::Adc: case ir::Opcode::Sbb: case ir::Opcode::FlagsAdc: case ir::Opcode::FlagsSbb: {
        // (they read only CF of their flags operand)
        const uint32_t f = uint32_t(in.args[2].v);
        if (b.insts[f].op == ir::Opcode::GetFlags && getflags_valid_[f] && (getflags_mask_[f] & flag::CF))
          in.args[2].v = getflags_src_[f];
        break;
      }
      case ir::Opcode::Interpret: case ir::Opcode::RepString:
        known_.fill(ir::Value{});
        flags_value_ = ir::Value{};
        break;
      default: break;
    }
    return false;
  }
  // Backward: a SetGpr overwritten later with no read or sync point in between is deleted.
  void backward(ir::Inst& in) {
    if (in.op == ir::Opcode::SetGpr) {
      const unsigned r = in.args[0].v & 15;
      if (overwritten_[r]) in.dead = true;
      overwritten_[r] = true;
    } else if (in.op == ir::Opcode::GetGpr) {
      overwritten_[in.args[0].v & 15] = false;
    } else if (is_sync_point(in.op) || in.op == ir::Opcode::TailStart) {  // (the block's end is before a tail)
      overwritten_.fill(false);
    }
  }

 private:
  std::array<ir::Value, 16> known_{};
  ir::Value flags_value_;  // value of the last SetFlags
  uint64_t flags_mask_ = 0;
  // The tail (ir::Tail) starts from what was known at its ExitIf.
  std::array<ir::Value, 16> known_at_entry_{};
  ir::Value flags_at_entry_;
  uint64_t mask_at_entry_ = 0;
  std::array<bool, 16> overwritten_{};
  // Per GetFlags: the last SetFlags' value and mask there (per-thread scratch, only GetFlags
  // entries are read, after they are written).
  uint8_t* getflags_valid_;
  uint32_t* getflags_src_;
  uint64_t* getflags_mask_;
};

// fold_constants (fold_constants.cpp).
class ConstantFolding {
 public:
  explicit ConstantFolding(const ir::Block& b);
  bool forward(const ir::Block& b, uint32_t i, ir::Inst& in, std::vector<uint32_t>& alias) {
    if (in.op == ir::Opcode::TailStart) start_tail();  // (the tail sees no value defined after its ExitIf)
    // (guest state reads and writes, accesses, exits: about half of a block's instructions)
    if (!may_rewrite_[size_t(in.op)]) return false;
    return rewrite(b, i, in, alias);
  }

 private:
  void start_tail();
  bool rewrite(const ir::Block& b, uint32_t i, ir::Inst& in, std::vector<uint32_t>& alias);
  const bool* may_rewrite_;  // per opcode: rewrite can change it (fold_constants.cpp)
  const bool* foldable_;     // per opcode: fold() computes it from constant operands
};

// eliminate_zero_extensions (zero_extensions.cpp): the demand backward, then the
// rewriting forward.
// Per opcode (zero_extensions.cpp): whether it reads its operands' upper halves, whether its
// result's upper half is zero, and its 32-bit form, where the answer does not depend on the
// instruction's arguments (kSpecial: it does, the out-of-line step decides).
struct ZeroExtFacts {
  enum : uint8_t { kNever, kIfDemanded, kAlways, kSpecial };  // upper: read ...
  uint8_t upper;    // ... always, never, only when its own upper half is demanded
  uint8_t zero;     // 0 or 1: the result's upper half is zero; kSpecial
  ir::Opcode narrowed;  // the operation when its upper half is not demanded
};
extern const std::array<ZeroExtFacts, size_t(ir::Opcode::Count)> kZeroExtFacts;

class ZeroExtensions {
 public:
  // (after the terminals' values are final: they demand their values whole)
  explicit ZeroExtensions(const ir::Block& b);
  void backward(uint32_t i, const ir::Inst& in) {
    switch (kZeroExtFacts[size_t(in.op)].upper) {
      case ZeroExtFacts::kNever: return;
      case ZeroExtFacts::kIfDemanded:
        if (!demanded_[i]) return;
        [[fallthrough]];
      case ZeroExtFacts::kAlways: {
        for (const ir::Arg *a = in.args, *end = in.args + in.nargs; a != end; ++a)
          if (!a->is_imm) demanded_[a->v] = 1;
        return;
      }
      default: backward_by_argument(i, in);
    }
  }
  void start_forward(size_t n);
  bool forward(uint32_t i, ir::Inst& in, std::vector<uint32_t>& alias) {
    if (!demanded_[i]) in.op = kZeroExtFacts[size_t(in.op)].narrowed;
    const uint8_t z = kZeroExtFacts[size_t(in.op)].zero;
    if (z == ZeroExtFacts::kSpecial) return forward_by_argument(i, in, alias);
    zero_upper_[i] = z;
    return false;
  }

 private:
  void backward_by_argument(uint32_t i, const ir::Inst& in);
  bool forward_by_argument(uint32_t i, ir::Inst& in, std::vector<uint32_t>& alias);
  uint8_t* demanded_;    // per value: some reader reads its upper half (per-thread scratch)
  uint8_t* zero_upper_;  // per value: its upper half is zero (per-thread scratch)
};

// eliminate_dead_flags_and_code (dead_code.cpp): the use counts forward (after each
// instruction's last rewrite), then the backward walk.
class DeadFlagsAndCode {
 public:
  explicit DeadFlagsAndCode(size_t n);
  // (inline: a call per instruction from the pipeline's forward walk)
  void count(const ir::Inst& in) {
    for (const ir::Arg *a = in.args, *end = in.args + in.nargs; a != end; ++a)
      if (!a->is_imm) ++uses_[a->v];
  }
  // The pipeline's third walk: the arguments through the alias map and counted in one loop
  // (a loop over the arguments fewer per instruction); `uncount` takes back the counts of an
  // instruction a later step of the walk deletes.
  void alias_and_count(ir::Inst& in, const uint32_t* map) {
    for (ir::Arg *a = in.args, *end = in.args + in.nargs; a != end; ++a)
      if (!a->is_imm) ++uses_[a->v = map[a->v]];
  }
  void uncount(const ir::Inst& in) {
    for (const ir::Arg *a = in.args, *end = in.args + in.nargs; a != end; ++a)
      if (!a->is_imm) --uses_[a->v];
  }
  void count_terminals(const ir::Block& b);
  // By the time the walk reaches an instruction, every reader of its value (all later, SSA)
  // has been seen, so its use count is final. A value nothing reads is deleted before it can
  // count as a reader of the flags (a GetFlags only a dead instruction read).
  void backward(uint32_t i, ir::Inst& in) {
    if (in.op == ir::Opcode::SetFlags) {
      // Only the arithmetic flags are tracked: any other bit (DF) is always live.
      const uint64_t mask = in.args[0].v & (live_ | ~flag::ARITH);
      if (mask == 0) {
        in.dead = true;
        if (!in.args[1].is_imm) --uses_[in.args[1].v];
        return;
      }
      in.args[0].v = mask;
      live_ &= ~mask;
      return;
    }
    if (uses_[i] == 0 && !has_side_effects(in.op)) {
      in.dead = true;
      for (int a = 0; a < in.nargs; ++a)
        if (!in.args[a].is_imm) --uses_[in.args[a].v];
      return;
    }
    if (in.op == ir::Opcode::GetFlags || is_sync_point(in.op) || in.op == ir::Opcode::TailStart) live_ = flag::ARITH;
  }

 private:
  uint32_t* uses_;  // per value: its readers not deleted (per-thread scratch, dead_code.cpp)
  uint64_t live_;  // flags bits live after the instruction the backward walk is at
};

}  // namespace vireo::jit::passes::detail
