#include <fmt/format.h>

#include "jit/ir/ir.h"

namespace vireo::jit::ir {

namespace {
std::string check_value(const Block& b, size_t at, Value v, Type want, const char* what) {
  if (!v.valid() || v.id >= at) return fmt::format("{}: %{} is not defined before use", what, v.id);
  if (b.insts[v.id].dead) return fmt::format("{}: %{} is dead", what, v.id);
  Type t = b.type_of(v);
  if (t != want)
    return fmt::format("{}: %{} has type {}, expected {}", what, v.id, type_name(t), type_name(want));
  return "";
}
}  // namespace

std::string verify(const Block& b) {
  for (size_t i = 0; i < b.insts.size(); ++i) {
    const Inst& in = b.insts[i];
    if (in.dead) continue;
    if (size_t(in.op) >= size_t(Opcode::Count)) return fmt::format("%{}: bad opcode", i);
    const OpcodeInfo& oi = info(in.op);
    std::string where = fmt::format("%{} {}", i, oi.name);
    if (in.nargs != oi.nargs)
      return fmt::format("{}: {} arguments, expected {}", where, in.nargs, oi.nargs);
    for (int a = 0; a < in.nargs; ++a) {
      bool want_imm = oi.args[a] == Type::Imm;
      if (want_imm != in.args[a].is_imm)
        return fmt::format("{}: argument {} must be {}", where, a, want_imm ? "an immediate" : "a value");
      if (!want_imm) {
        std::string e = check_value(b, i, Value{uint32_t(in.args[a].v)}, oi.args[a], where.c_str());
        if (!e.empty()) return e;
      }
    }
  }
  size_t end = b.insts.size();
  switch (b.term.kind) {
    case Terminal::Kind::None: return "block has no terminal";
    case Terminal::Kind::Branch: return check_value(b, end, b.term.cond, Type::U1, "branch condition");
    case Terminal::Kind::Indirect: return check_value(b, end, b.term.dest, Type::U64, "indirect target");
    default: return "";
  }
}

}  // namespace vireo::jit::ir
