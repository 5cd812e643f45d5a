// Upper bounds of IR values (passes.h: upper_bound), for the backend's range checks.
//
// User mode checks every guest address against the window's end before the host access
// (backend/x64/guest_access.cpp). An address the IR proves below it needs no check: a
// constant (`movzx ecx, word [0xA7ED4C]`, python's eval loop) or a table at a constant
// address indexed by a narrow value (`mov rax, [rax*8 + 0x737E40]` after `movzx eax, sil`,
// its opcode dispatch). The bound is what the IR's semantics guarantee, whatever the value at
// run time: a zero-extension, a narrow load and a 32-bit operation leave the upper bits zero;
// sums, left shifts and products of bounded values are bounded while they cannot wrap.
#include <algorithm>
#include <limits>

#include "jit/passes/passes.h"

namespace vireo::jit::passes {

using ir::Opcode;

namespace {

constexpr uint64_t kUnknown = std::numeric_limits<uint64_t>::max();
// (an address is a few operations deep; the limit keeps a long chain of adds linear)
constexpr int kMaxDepth = 8;

uint64_t bound_of(const ir::Block& b, uint32_t v, int depth);

uint64_t arg_bound(const ir::Block& b, const ir::Arg& a, int depth) {
  return a.is_imm ? a.v : bound_of(b, uint32_t(a.v), depth);
}

// The constant value of an argument, if it is one.
bool constant_arg(const ir::Block& b, const ir::Arg& a, uint64_t& c) {
  if (a.is_imm) c = a.v;
  else if (b.insts[a.v].op == Opcode::Const) c = b.insts[a.v].args[0].v;
  else return false;
  return true;
}

uint64_t bound_of(const ir::Block& b, uint32_t v, int depth) {
  if (v >= b.insts.size() || depth > kMaxDepth) return kUnknown;
  const ir::Inst& in = b.insts[v];
  auto arg = [&](int k) { return arg_bound(b, in.args[k], depth + 1); };
  switch (in.op) {
    case Opcode::Const: return in.args[0].v;
    case Opcode::Load8: return 0xFF;
    case Opcode::Load16: return 0xFFFF;
    // (a zero-extension only clears bits: lua's dispatch index `and eax, 0x7f` is
    // ZeroExt32(And(x, 0x7f)), bounded by the mask, which makes its jump table one)
    case Opcode::ZeroExt8: return std::min<uint64_t>(arg(0), 0xFF);
    case Opcode::ZeroExt16: return std::min<uint64_t>(arg(0), 0xFFFF);
    case Opcode::ZeroExt32: return std::min<uint64_t>(arg(0), 0xFFFF'FFFF);
    case Opcode::Load32:
    case Opcode::Add32: case Opcode::Sub32: case Opcode::Or32: case Opcode::Xor32:
    case Opcode::Mul32: case Opcode::Not32: case Opcode::Neg32:
      return 0xFFFF'FFFF;
    case Opcode::And32: {
      const uint64_t a = arg(0), c = arg(1);
      return std::min<uint64_t>({a, c, 0xFFFF'FFFF});
    }
    case Opcode::And: return std::min(arg(0), arg(1));  // (no bit that neither has)
    case Opcode::Shr: return arg(0);                       // (a logical shift right only shrinks)
    case Opcode::Add: {
      const uint64_t a = arg(0), c = arg(1);
      return a > kUnknown - c ? kUnknown : a + c;  // (a sum that can wrap is unbounded)
    }
    case Opcode::Shl: {
      uint64_t count = 0;
      if (!constant_arg(b, in.args[1], count) || count >= 64) return kUnknown;
      const uint64_t a = arg(0);
      return a > (kUnknown >> count) ? kUnknown : a << count;
    }
    case Opcode::Mul: {
      const uint64_t a = arg(0), c = arg(1);
      return c != 0 && a > kUnknown / c ? kUnknown : a * c;
    }
    case Opcode::Or: case Opcode::Xor: {
      // (no bit above the highest bit of either)
      uint64_t m = arg(0) | arg(1);
      for (int s = 1; s < 64; s <<= 1) m |= m >> s;
      return m;
    }
    default: return kUnknown;
  }
}

}  // namespace

uint64_t upper_bound(const ir::Block& b, uint32_t v) { return bound_of(b, v, 0); }

}  // namespace vireo::jit::passes
