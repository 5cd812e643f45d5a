#include <fmt/format.h>

#include <cstdlib>

#include "jit/ir/ir.h"

namespace vireo::jit::ir {

namespace {
// (Runs on every block translated: the messages are formatted only when something is wrong.)
bool value_ok(const Block& b, size_t at, Value v, Type want) {
  return v.valid() && v.id < at && !b.insts[v.id].dead && b.type_of(v) == want;
}

std::string check_value(const Block& b, size_t at, Value v, Type want, const char* what) {
  if (value_ok(b, at, v, want)) return "";
  if (!v.valid() || v.id >= at) return fmt::format("{}: %{} is not defined before use", what, v.id);
  if (b.insts[v.id].dead) return fmt::format("{}: %{} is dead", what, v.id);
  Type t = b.type_of(v);
  return fmt::format("{}: %{} has type {}, expected {}", what, v.id, type_name(t), type_name(want));
}

std::string check_terminal(const Block& b, const Terminal& t, size_t end) {
  switch (t.kind) {
    case Terminal::Kind::None: return "block has no terminal";
    case Terminal::Kind::Branch: return check_value(b, end, t.cond, Type::U1, "branch condition");
    case Terminal::Kind::Indirect: {
      if (t.cond.valid()) {  // (a jump table's index: frontend/jump_table.h)
        if (&t != &b.term || !b.jump_table.present()) return "jump-table index without the block's table";
        if (std::string e = check_value(b, end, t.cond, Type::U64, "jump-table index"); !e.empty()) return e;
      }
      return check_value(b, end, t.dest, Type::U64, "indirect target");
    }
    default: return "";
  }
}

// A tail's instructions see only values defined before its ExitIf, or in the tail.
bool visible_in_tail(const Block& b, uint32_t v) { return v < b.tail.entry || v > b.tail.start; }
}  // namespace

std::string verify(const Block& b) {
  const Tail& tail = b.tail;
  if (tail.present()) {
    if (tail.start >= b.insts.size() || b.insts[tail.start].op != Opcode::TailStart || b.insts[tail.start].dead)
      return "tail: no TailStart where the tail starts";
    if (tail.entry >= tail.start || b.insts[tail.entry].op != Opcode::ExitIf || b.insts[tail.entry].dead)
      return "tail: its entry is not an ExitIf of the block";
  }
  for (size_t i = 0; i < b.insts.size(); ++i) {
    const Inst& in = b.insts[i];
    if (in.dead) continue;
    if (size_t(in.op) >= size_t(Opcode::Count)) return fmt::format("%{}: bad opcode", i);
    const OpcodeInfo& oi = info(in.op);
    auto where = [&] { return fmt::format("%{} {}", i, oi.name); };
    if (in.nargs != oi.nargs)
      return fmt::format("{}: {} arguments, expected {}", where(), in.nargs, oi.nargs);
    if (in.op == Opcode::TailStart && i != tail.start) return fmt::format("{}: not the block's tail", where());
    for (int a = 0; a < in.nargs; ++a) {
      bool want_imm = oi.args[a] == Type::Imm;
      if (want_imm != in.args[a].is_imm)
        return fmt::format("{}: argument {} must be {}", where(), a, want_imm ? "an immediate" : "a value");
      if (!want_imm) {
        const Value v{uint32_t(in.args[a].v)};
        if (!value_ok(b, i, v, oi.args[a])) return check_value(b, i, v, oi.args[a], where().c_str());
        if (tail.present() && i > tail.start && !visible_in_tail(b, uint32_t(in.args[a].v)))
          return fmt::format("{}: %{} is defined after the tail's ExitIf", where(), in.args[a].v);
      }
    }
  }
  if (std::string e = check_terminal(b, b.term, b.main_end()); !e.empty()) return e;
  if (!tail.present()) return "";
  if (std::string e = check_terminal(b, tail.term, b.insts.size()); !e.empty()) return "tail: " + e;
  for (Value v : {tail.term.cond, tail.term.dest})
    if (v.valid() && !visible_in_tail(b, v.id)) return fmt::format("tail terminal: %{} is defined after the tail's ExitIf", v.id);
  return "";
}

bool verify_enabled() {
  static const bool on = [] {
#ifndef __OPTIMIZE__
    return true;  // (a debug build always checks)
#else
    const char* e = std::getenv("VIREO_JIT_VERIFY");
    return e && *e && std::string(e) != "0";
#endif
  }();
  return on;
}

}  // namespace vireo::jit::ir
