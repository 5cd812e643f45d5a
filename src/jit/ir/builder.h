// Builder: appends IR instructions to a block, tagging each with the current guest pc.
//
// It also caches the guest state the block has read or written so far (GuestStateCache):
// a GetGpr of a register the block already read or wrote returns that value instead of
// emitting an instruction, and a condition on the flags that the block's last SetFlags
// covers reads that flags value directly (no GetFlags). forward_guest_state does the same
// after the fact, but the frontend emitted ~40% IR that the passes then walked and deleted.
#pragma once

#include <array>
#include <initializer_list>

#include "cpu/cpu_state.h"
#include "jit/ir/ir.h"

namespace vireo::jit::ir {

// Flags a condition code (0..15) reads (SDM Vol. 1, Appendix B).
inline uint64_t flags_read_by(uint64_t cc) {
  switch ((cc & 15) >> 1) {
    case 0: return flag::OF;
    case 1: return flag::CF;
    case 2: return flag::ZF;
    case 3: return flag::CF | flag::ZF;
    case 4: return flag::SF;
    case 5: return flag::PF;
    case 6: return flag::SF | flag::OF;
    default: return flag::ZF | flag::SF | flag::OF;
  }
}

// What the instructions built so far left in the guest registers and flags, as IR values.
// Valid from the block's start (or a tail's, which starts empty) along its one path: side
// exits leave the path but do not change it. Anything that runs guest code outside the IR
// (an interpreter fallback, a rep string helper) forgets it all.
struct GuestStateCache {
  std::array<Value, 16> gpr{};  // the value each guest GPR holds, where known
  Value flags;                  // the value of the last SetFlags
  uint64_t flags_mask = 0;      // the RFLAGS bits it set
  void clear() {
    gpr.fill(Value{});
    flags = Value{};
    flags_mask = 0;
  }
};

// (Builder::emit tests `op <= SetFlags` for the guest state opcodes)
static_assert(uint16_t(Opcode::GetGpr) == 0 && uint16_t(Opcode::SetGpr) == 1 &&
              uint16_t(Opcode::GetFlags) == 2 && uint16_t(Opcode::SetFlags) == 3);

class Builder {
 public:
  // The frontend builds with the cache on; hand-built blocks (the passes' tests) get exactly
  // the instructions they emit.
  explicit Builder(Block& b, bool cache_guest_state = false) : b_(b), caching_(cache_guest_state) {}

  void set_guest_pc(uint64_t pc) { pc_ = pc; }

  Value emit(Opcode op, std::initializer_list<Arg> args) {
    // (only four opcodes, and the two that leave the IR, touch the cache)
    if (caching_ && (op <= Opcode::SetFlags || op == Opcode::Interpret || op == Opcode::RepString)) [[unlikely]] {
      const Arg* a = args.begin();
      switch (op) {
        case Opcode::GetGpr:
          if (a[0].v < 16 && state_.gpr[a[0].v].valid()) return state_.gpr[a[0].v];
          break;
        case Opcode::SetGpr:
          state_.gpr[a[0].v & 15] = Value{uint32_t(a[1].v)};
          break;
        case Opcode::SetFlags:
          state_.flags = Value{uint32_t(a[1].v)};
          state_.flags_mask = a[0].v;
          break;
        case Opcode::Interpret: case Opcode::RepString:
          state_.clear();
          break;
        default: break;
      }
    }
    // (built in place: a copy of the 80-byte Inst was 1.4% of python3 -c pass)
    Inst& i = b_.insts.emplace_back();
    i.op = op;
    // Field by field: the caller has just stored each Arg's flag byte and value apart, and a
    // 16-byte load of the whole Arg cannot be forwarded from those two stores (it waits for
    // them to reach the cache: a third of this function's time in codegen's translations).
    Arg* out = i.args;
    for (const Arg& a : args) {
      out->is_imm = a.is_imm;
      out->v = a.v;
      ++out;
    }
    i.nargs = uint8_t(args.size());
    i.guest_pc = pc_;
    const Value v{uint32_t(b_.insts.size() - 1)};
    if (caching_ && op == Opcode::GetGpr && i.args[0].v < 16) state_.gpr[i.args[0].v] = v;
    return v;
  }

  // Shorthands for the common shapes.
  Value op(Opcode o, Value a) { return emit(o, {Arg::val(a)}); }
  Value op(Opcode o, Value a, Value b) { return emit(o, {Arg::val(a), Arg::val(b)}); }
  // One Const per value and block, as value numbering would leave it (`push` after `push`:
  // each `Const 8`); a small direct-mapped table, the frontend's constants repeat close by.
  Value constant(uint64_t v) {
    if (!caching_) return emit(Opcode::Const, {Arg::imm(v)});
    ConstSlot& s = consts_[(v ^ (v >> 7) ^ (v >> 17)) % consts_.size()];
    if (s.id.valid() && s.v == v) return s.id;
    s = {v, emit(Opcode::Const, {Arg::imm(v)})};
    return s.id;
  }
  Value get_gpr(unsigned r) { return emit(Opcode::GetGpr, {Arg::imm(r)}); }
  void set_gpr(unsigned r, Value v) { emit(Opcode::SetGpr, {Arg::imm(r), Arg::val(v)}); }
  void set_flags(uint64_t mask, Value f) { emit(Opcode::SetFlags, {Arg::imm(mask), Arg::val(f)}); }
  // A flags value whose bits `needed` are the guest's now: the last SetFlags' value when it
  // set all of them, else the whole RFLAGS (GetFlags).
  Value flags_for(uint64_t needed) {
    if (caching_ && state_.flags.valid() && (needed & ~state_.flags_mask) == 0) return state_.flags;
    return emit(Opcode::GetFlags, {});
  }
  // Condition code cc (0..15) on the guest's flags now.
  Value test_cond(uint64_t cc) {
    return emit(Opcode::TestCond, {Arg::val(flags_for(flags_read_by(cc))), Arg::imm(cc)});
  }

  void jump(uint64_t target) { b_.term = {Terminal::Kind::Jump, target, 0, {}, {}}; }
  void branch(Value cond, uint64_t taken, uint64_t not_taken) {
    b_.term = {Terminal::Kind::Branch, taken, not_taken, cond, {}};
  }
  void indirect(Value dest) { b_.term = {Terminal::Kind::Indirect, 0, 0, {}, dest}; }
  void exit_to(uint64_t pc) { b_.term = {Terminal::Kind::Exit, pc, 0, {}, {}}; }
  void syscall(uint64_t next_pc) { b_.term = {Terminal::Kind::Syscall, next_pc, 0, {}, {}}; }

  Block& block() { return b_; }
  const GuestStateCache& state() const { return state_; }

 private:
  Block& b_;
  bool caching_;
  uint64_t pc_ = 0;
  GuestStateCache state_;
  struct ConstSlot {
    uint64_t v = 0;
    Value id;
  };
  std::array<ConstSlot, 32> consts_{};
};

}  // namespace vireo::jit::ir
