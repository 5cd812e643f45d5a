#include <fmt/format.h>

#include "jit/ir/ir.h"

namespace vireo::jit::ir {

std::string print(const Block& b) {
  std::string s = fmt::format("block {:#x} ({} guest instructions)\n", b.guest_pc, b.guest_insns);
  uint64_t last_pc = ~uint64_t(0);
  for (size_t i = 0; i < b.insts.size(); ++i) {
    const Inst& in = b.insts[i];
    if (in.dead) continue;
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
  switch (b.term.kind) {
    case Terminal::Kind::None: s += "  <no terminal>\n"; break;
    case Terminal::Kind::Jump: s += fmt::format("  -> jump {:#x}\n", b.term.target); break;
    case Terminal::Kind::Branch:
      s += fmt::format("  -> if %{} then {:#x} else {:#x}\n", b.term.cond.id, b.term.target,
                       b.term.fallthrough);
      break;
    case Terminal::Kind::Indirect: s += fmt::format("  -> indirect %{}\n", b.term.dest.id); break;
    case Terminal::Kind::Syscall: s += fmt::format("  -> syscall, resume {:#x}\n", b.term.target); break;
    case Terminal::Kind::Exit: s += fmt::format("  -> exit to dispatcher at {:#x}\n", b.term.target); break;
    case Terminal::Kind::Return: s += "  -> return to dispatcher (rip in state)\n"; break;
  }
  return s;
}

}  // namespace vireo::jit::ir
