#include <fmt/format.h>

#include "jit/ir/ir.h"

namespace vireo::jit::ir {

namespace {
std::string print_terminal(const Terminal& t) {
  switch (t.kind) {
    case Terminal::Kind::None: return "  <no terminal>\n";
    case Terminal::Kind::Jump: return fmt::format("  -> jump {:#x}\n", t.target);
    case Terminal::Kind::Branch:
      return fmt::format("  -> if %{} then {:#x} else {:#x}\n", t.cond.id, t.target, t.fallthrough);
    case Terminal::Kind::Indirect:
      if (t.cond.valid()) return fmt::format("  -> indirect %{} (jump table at index %{})\n", t.dest.id, t.cond.id);
      return fmt::format("  -> indirect %{}\n", t.dest.id);
    case Terminal::Kind::Syscall: return fmt::format("  -> syscall, resume {:#x}\n", t.target);
    case Terminal::Kind::Exit: return fmt::format("  -> exit to dispatcher at {:#x}\n", t.target);
    case Terminal::Kind::Return: return "  -> return to dispatcher (rip in state)\n";
  }
  return "";
}
}  // namespace

std::string print(const Block& b) {
  std::string s = fmt::format("block {:#x} ({} guest instructions)\n", b.guest_pc, b.guest_insns);
  uint64_t last_pc = ~uint64_t(0);
  for (size_t i = 0; i < b.insts.size(); ++i) {
    const Inst& in = b.insts[i];
    if (in.dead) continue;
    if (i == b.tail.start) {  // the block's own end, then its tail
      s += print_terminal(b.term);
      s += fmt::format("tail {:#x} (taken at %{}, {} guest instructions on the path)\n", b.tail.guest_pc,
                       b.tail.entry, b.tail.guest_insns);
      continue;
    }
    if (in.guest_pc != last_pc) {
      s += fmt::format(" ; {:#x}\n", in.guest_pc);
      last_pc = in.guest_pc;
    }
    const OpcodeInfo& oi = info(in.op);
    s += oi.result == Type::Void ? "  " : fmt::format("  %{} = ", i);
    s += oi.name;
    for (int a = 0; a < in.nargs; ++a) {
      s += a ? ", " : " ";
      s += in.args[a].is_imm ? fmt::format("#{:#x}", in.args[a].v) : fmt::format("%{}", in.args[a].v);
    }
    s += '\n';
  }
  s += print_terminal(b.tail.present() ? b.tail.term : b.term);
  return s;
}

}  // namespace vireo::jit::ir
