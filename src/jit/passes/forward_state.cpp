#include <array>
#include <vector>

#include "cpu/cpu_state.h"
#include "jit/ir/builder.h"  // (flags_read_by)
#include "jit/passes/passes.h"

namespace vireo::jit::passes {

using ir::Opcode;
using ir::Value;

bool has_side_effects(Opcode op) {
  switch (op) {
    case Opcode::SetGpr: case Opcode::SetFlags: case Opcode::SetXmm: case Opcode::SetRip:
    case Opcode::Store8: case Opcode::Store16: case Opcode::Store32: case Opcode::Store64:
    case Opcode::Store128: case Opcode::Interpret: case Opcode::RepString: case Opcode::Div:
    case Opcode::Load8: case Opcode::Load16: case Opcode::Load32: case Opcode::Load64:
    case Opcode::Load128: case Opcode::ExitIf: case Opcode::TailStart: case Opcode::CheckCanonical:
    case Opcode::AtomicXadd: case Opcode::AtomicXchg: case Opcode::AtomicCmpXchg:
    case Opcode::SetCpuField: case Opcode::StoreHost32: case Opcode::CheckAligned16:  // (system mode)
    // Every SSE op can set sticky MXCSR exception flags, even one whose value is dead
    // (comisd whose flags are overwritten, cvttsd2si whose result is unused).
    case Opcode::SseRR: case Opcode::SseRM: case Opcode::SseStore: case Opcode::SseRG:
    case Opcode::SseToGpr: case Opcode::SseToGprM: case Opcode::SseFlagsRR: case Opcode::SseFlagsRM:
    case Opcode::SseStrIdx: case Opcode::SseStrIdxM:  // (read guest XMM state: never numbered)
    case Opcode::VexRR: case Opcode::VexRM: case Opcode::VexFromGpr: case Opcode::VexToGpr:
    case Opcode::VexToGprM: case Opcode::VexFlags: case Opcode::VexFlagsM: case Opcode::VexZeroUpper:
      return true;
    default: return false;
  }
}

bool is_sync_point(Opcode op) {
  switch (op) {
    case Opcode::Store8: case Opcode::Store16: case Opcode::Store32: case Opcode::Store64:
    case Opcode::Store128: case Opcode::Interpret: case Opcode::RepString: case Opcode::Div:
    case Opcode::Load8: case Opcode::Load16: case Opcode::Load32: case Opcode::Load64:
    case Opcode::Load128:
    case Opcode::AtomicXadd: case Opcode::AtomicXchg: case Opcode::AtomicCmpXchg:
    case Opcode::SseRM: case Opcode::SseStore: case Opcode::SseToGprM: case Opcode::SseFlagsRM:
    case Opcode::SseStrIdxM:
    // (every VEX op: where the AVX state is off it leaves the block through the interpreter)
    case Opcode::VexRR: case Opcode::VexRM: case Opcode::VexFromGpr: case Opcode::VexToGpr:
    case Opcode::VexToGprM: case Opcode::VexFlags: case Opcode::VexFlagsM: case Opcode::VexZeroUpper:
    case Opcode::CheckCanonical: case Opcode::CheckAligned16:
    case Opcode::ExitIf:  // (the guest state must be exact where the block may leave)
      return true;
    default: return false;
  }
}

using ir::flags_read_by;

void forward_guest_state(ir::Block& b) {
  std::vector<uint32_t>& alias = identity_aliases(b.insts.size());
  std::array<Value, 16> known{};
  Value flags_value;     // value of the last SetFlags
  uint64_t flags_mask = 0;
  std::vector<uint32_t> get_flags_after;  // GetFlags ids defined while flags_value was current
  // (per-thread scratch, reused from block to block: only GetFlags entries are read, after
  // they are written)
  thread_local std::vector<uint8_t> getflags_valid;
  thread_local std::vector<uint32_t> getflags_src;
  thread_local std::vector<uint64_t> getflags_mask;
  getflags_valid.assign(b.insts.size(), 0);
  getflags_src.resize(b.insts.size());
  getflags_mask.resize(b.insts.size());

  // The tail (ir::Tail) starts from what was known at its ExitIf.
  std::array<Value, 16> known_at_entry{};
  Value flags_at_entry;
  uint64_t mask_at_entry = 0;
  for (uint32_t i = 0; i < b.insts.size(); ++i) {
    ir::Inst& in = b.insts[i];
    if (in.dead) continue;
    for (int a = 0; a < in.nargs; ++a)
      if (!in.args[a].is_imm) in.args[a].v = alias[in.args[a].v];
    if (i == b.tail.entry) known_at_entry = known, flags_at_entry = flags_value, mask_at_entry = flags_mask;
    switch (in.op) {
      case Opcode::TailStart:
        known = known_at_entry;
        flags_value = flags_at_entry;
        flags_mask = mask_at_entry;
        break;
      case Opcode::GetGpr: {
        Value& k = known[in.args[0].v & 15];
        if (k.valid()) {
          alias[i] = k.id;
          in.dead = true;
        } else {
          k = Value{i};
        }
        break;
      }
      case Opcode::SetGpr: known[in.args[0].v & 15] = Value{uint32_t(in.args[1].v)}; break;
      case Opcode::SetFlags:
        flags_value = Value{uint32_t(in.args[1].v)};
        flags_mask = in.args[0].v;
        break;
      case Opcode::GetFlags:
        if (flags_value.valid()) {
          getflags_valid[i] = 1;
          getflags_src[i] = flags_value.id;
          getflags_mask[i] = flags_mask;
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
        known.fill(Value{});
        flags_value = Value{};
        break;
      default: break;
    }
  }
  b.for_each_terminal([&](ir::Terminal& t) { alias_terminal(t, alias); });

  // Dead SetGpr: overwritten later with no read or sync point in between.
  std::array<bool, 16> overwritten{};
  for (size_t i = b.insts.size(); i-- > 0;) {
    ir::Inst& in = b.insts[i];
    if (in.dead) continue;
    if (in.op == Opcode::SetGpr) {
      unsigned r = in.args[0].v & 15;
      if (overwritten[r]) in.dead = true;
      overwritten[r] = true;
    } else if (in.op == Opcode::GetGpr) {
      overwritten[in.args[0].v & 15] = false;
    } else if (is_sync_point(in.op) || in.op == Opcode::TailStart) {  // (the block's end is before a tail)
      overwritten.fill(false);
    }
  }
}

void eliminate_dead_flags_and_code(ir::Block& b) {
  // One backward walk: by the time it reaches an instruction, every reader of its value (all
  // later, SSA) has been seen, so its use count is final. A value nothing reads is deleted
  // before it can count as a reader of the flags (a GetFlags only a dead instruction read).
  thread_local std::vector<uint32_t> uses;
  uses.assign(b.insts.size(), 0);
  for (const ir::Inst& in : b.insts)
    if (!in.dead)
      for (int a = 0; a < in.nargs; ++a)
        if (!in.args[a].is_imm) ++uses[in.args[a].v];
  b.for_each_terminal([&](const ir::Terminal& t) {
    if (t.cond.valid()) ++uses[t.cond.id];
    if (t.dest.valid()) ++uses[t.dest.id];
  });
  uint64_t live = flag::ARITH;  // live at the block's end
  for (size_t i = b.insts.size(); i-- > 0;) {
    ir::Inst& in = b.insts[i];
    if (in.dead) continue;
    if (in.op == Opcode::SetFlags) {
      // Only the arithmetic flags are tracked: any other bit (DF) is always live.
      const uint64_t mask = in.args[0].v & (live | ~flag::ARITH);
      if (mask == 0) {
        in.dead = true;
        if (!in.args[1].is_imm) --uses[in.args[1].v];
        continue;
      }
      in.args[0].v = mask;
      live &= ~mask;
      continue;
    }
    if (uses[i] == 0 && !has_side_effects(in.op)) {
      in.dead = true;
      for (int a = 0; a < in.nargs; ++a)
        if (!in.args[a].is_imm) --uses[in.args[a].v];
      continue;
    }
    if (in.op == Opcode::GetFlags || is_sync_point(in.op) || in.op == Opcode::TailStart) live = flag::ARITH;
  }
}

std::vector<uint32_t>& identity_aliases(size_t n) {
  thread_local std::vector<uint32_t> alias;
  alias.resize(n);
  for (uint32_t i = 0; i < n; ++i) alias[i] = i;
  return alias;
}

void optimize(ir::Block& b) {
  forward_guest_state(b);
  fold_constants(b);
  eliminate_zero_extensions(b);
  eliminate_dead_flags_and_code(b);
}

}  // namespace vireo::jit::passes
