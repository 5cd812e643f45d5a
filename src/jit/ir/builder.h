// Builder: appends IR instructions to a block, tagging each with the current guest pc.
#pragma once

#include <initializer_list>

#include "jit/ir/ir.h"

namespace vireo::jit::ir {

class Builder {
 public:
  explicit Builder(Block& b) : b_(b) {}

  void set_guest_pc(uint64_t pc) { pc_ = pc; }

  Value emit(Opcode op, std::initializer_list<Arg> args) {
    // (built in place: a copy of the 80-byte Inst was 1.4% of python3 -c pass)
    Inst& i = b_.insts.emplace_back();
    i.op = op;
    for (const Arg& a : args) i.args[i.nargs++] = a;
    i.guest_pc = pc_;
    return Value{uint32_t(b_.insts.size() - 1)};
  }

  // Shorthands for the common shapes.
  Value op(Opcode o, Value a) { return emit(o, {Arg::val(a)}); }
  Value op(Opcode o, Value a, Value b) { return emit(o, {Arg::val(a), Arg::val(b)}); }
  Value constant(uint64_t v) { return emit(Opcode::Const, {Arg::imm(v)}); }
  Value get_gpr(unsigned r) { return emit(Opcode::GetGpr, {Arg::imm(r)}); }
  void set_gpr(unsigned r, Value v) { emit(Opcode::SetGpr, {Arg::imm(r), Arg::val(v)}); }
  void set_flags(uint64_t mask, Value f) { emit(Opcode::SetFlags, {Arg::imm(mask), Arg::val(f)}); }

  void jump(uint64_t target) { b_.term = {Terminal::Kind::Jump, target, 0, {}, {}}; }
  void branch(Value cond, uint64_t taken, uint64_t not_taken) {
    b_.term = {Terminal::Kind::Branch, taken, not_taken, cond, {}};
  }
  void indirect(Value dest) { b_.term = {Terminal::Kind::Indirect, 0, 0, {}, dest}; }
  void exit_to(uint64_t pc) { b_.term = {Terminal::Kind::Exit, pc, 0, {}, {}}; }
  void syscall(uint64_t next_pc) { b_.term = {Terminal::Kind::Syscall, next_pc, 0, {}, {}}; }

  Block& block() { return b_; }

 private:
  Block& b_;
  uint64_t pc_ = 0;
};

}  // namespace vireo::jit::ir
