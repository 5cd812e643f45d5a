#include <array>
#include <vector>

#include "cpu/cpu_state.h"
#include "jit/ir/builder.h"  // (flags_read_by)
#include "jit/passes/passes.h"
#include "jit/passes/steps.h"

namespace vireo::jit::passes {

using ir::Opcode;
using ir::Value;

using ir::flags_read_by;

namespace detail {

namespace {
// (per-thread scratch, reused from block to block: only GetFlags entries are read, after
// they are written)
thread_local std::vector<uint8_t> getflags_valid;
thread_local std::vector<uint32_t> getflags_src;
thread_local std::vector<uint64_t> getflags_mask;
}  // namespace

GuestStateForwarding::GuestStateForwarding(const ir::Block& b) {
  getflags_valid.assign(b.insts.size(), 0);
  getflags_src.resize(b.insts.size());
  getflags_mask.resize(b.insts.size());
}

bool GuestStateForwarding::forward(const ir::Block& b, uint32_t i, ir::Inst& in, std::vector<uint32_t>& alias) {
  if (i == b.tail.entry) known_at_entry_ = known_, flags_at_entry_ = flags_value_, mask_at_entry_ = flags_mask_;
  switch (in.op) {
    case Opcode::TailStart:
      known_ = known_at_entry_;
      flags_value_ = flags_at_entry_;
      flags_mask_ = mask_at_entry_;
      break;
    case Opcode::GetGpr: {
      Value& k = known_[in.args[0].v & 15];
      if (k.valid()) {
        alias[i] = k.id;
        in.dead = true;
        return true;
      }
      k = Value{i};
      break;
    }
    case Opcode::SetGpr: known_[in.args[0].v & 15] = Value{uint32_t(in.args[1].v)}; break;
    case Opcode::SetFlags:
      flags_value_ = Value{uint32_t(in.args[1].v)};
      flags_mask_ = in.args[0].v;
      break;
    case Opcode::GetFlags:
      if (flags_value_.valid()) {
        getflags_valid[i] = 1;
        getflags_src[i] = flags_value_.id;
        getflags_mask[i] = flags_mask_;
      }
      break;
    case Opcode::TestCond: {
      uint32_t f = uint32_t(in.args[0].v);
      if (b.insts[f].op == Opcode::GetFlags && getflags_valid[f] &&
          (flags_read_by(in.args[1].v) & ~getflags_mask[f]) == 0)
        in.args[0].v = getflags_src[f];
      break;
    }
    case Opcode::Adc: case Opcode::Sbb: case Opcode::FlagsAdc: case Opcode::FlagsSbb: {
      // (they read only CF of their flags operand)
      uint32_t f = uint32_t(in.args[2].v);
      if (b.insts[f].op == Opcode::GetFlags && getflags_valid[f] && (getflags_mask[f] & flag::CF))
        in.args[2].v = getflags_src[f];
      break;
    }
    case Opcode::Interpret: case Opcode::RepString:
      known_.fill(Value{});
      flags_value_ = Value{};
      break;
    default: break;
  }
  return false;
}

void GuestStateForwarding::backward(ir::Inst& in) {
  if (in.op == Opcode::SetGpr) {
    unsigned r = in.args[0].v & 15;
    if (overwritten_[r]) in.dead = true;
    overwritten_[r] = true;
  } else if (in.op == Opcode::GetGpr) {
    overwritten_[in.args[0].v & 15] = false;
  } else if (is_sync_point(in.op) || in.op == Opcode::TailStart) {  // (the block's end is before a tail)
    overwritten_.fill(false);
  }
}

}  // namespace detail

void forward_guest_state(ir::Block& b) {
  std::vector<uint32_t>& alias = identity_aliases(b.insts.size());
  detail::GuestStateForwarding step(b);
  detail::walk_forward(b, alias, [&](uint32_t i, ir::Inst& in) { step.forward(b, i, in, alias); });
  // Dead SetGpr: overwritten later with no read or sync point in between.
  for (size_t i = b.insts.size(); i-- > 0;)
    if (!b.insts[i].dead) step.backward(b.insts[i]);
}

}  // namespace vireo::jit::passes
