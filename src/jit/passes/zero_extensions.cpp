// Redundant zero-extension elimination (a demanded-bits / known-zero-upper pass).
//
// The frontend zero-extends every 32-bit operand it reads and every 32-bit result it writes,
// as the architecture does (SDM Vol. 1, 3.4.1.1: a 32-bit write zeroes bits 63:32). Most of
// those extensions are of values already zero-extended, or feed operations that read only
// the low 32 bits. Two facts per value decide:
//   - demanded: some user reads bits 63:32 of it;
//   - zero upper: bits 63:32 are known to be zero.
// A ZeroExt32 whose operand has a zero upper half, or whose own upper half nobody reads, is
// the operand itself. An Add/Sub/And/Or/Xor/Mul/Not/Neg whose upper half nobody reads becomes
// its 32-bit form (Add32, ...), which zero-extends, as the host's `add r32, r32` does.
#include <array>
#include <vector>

#include "jit/passes/passes.h"
#include "jit/passes/steps.h"

namespace vireo::jit::passes {

using ir::Opcode;

namespace {

unsigned shift_size(uint64_t desc) { return unsigned((desc >> 8) & 0xFF); }

using detail::ZeroExtFacts;

// What an operation reads and leaves in the upper halves, as far as its opcode says (the
// steps' fast paths, steps.h); kSpecial where its arguments decide (reads_upper, and
// forward_by_argument's switch).
constexpr ZeroExtFacts facts_of(Opcode op) {
  ZeroExtFacts f{ZeroExtFacts::kAlways, 0, op};
  switch (op) {  // the 32-bit form of an operation whose upper half nothing reads
    case Opcode::Add: f.narrowed = Opcode::Add32; break;
    case Opcode::Sub: f.narrowed = Opcode::Sub32; break;
    case Opcode::And: f.narrowed = Opcode::And32; break;
    case Opcode::Or: f.narrowed = Opcode::Or32; break;
    case Opcode::Xor: f.narrowed = Opcode::Xor32; break;
    case Opcode::Mul: f.narrowed = Opcode::Mul32; break;
    case Opcode::Not: f.narrowed = Opcode::Not32; break;
    case Opcode::Neg: f.narrowed = Opcode::Neg32; break;
    default: break;
  }
  // Whether it reads bits 63:32 of its arguments, given whether its own upper half is
  // demanded. Operations whose upper result bits come from an operand's upper bits (64-bit
  // arithmetic, 8/16-bit partial writes) pass the demand through.
  switch (op) {
    case Opcode::ZeroExt8: case Opcode::ZeroExt16: case Opcode::ZeroExt32:
    case Opcode::SignExt8: case Opcode::SignExt16: case Opcode::SignExt32:
    case Opcode::Bswap32: case Opcode::TestCond: case Opcode::SetFlags: case Opcode::BoolToU64:
    case Opcode::Add32: case Opcode::Sub32: case Opcode::And32: case Opcode::Or32:
    case Opcode::Xor32: case Opcode::Mul32: case Opcode::Not32: case Opcode::Neg32:
      f.upper = ZeroExtFacts::kNever;
      break;
    case Opcode::Add: case Opcode::Sub: case Opcode::And: case Opcode::Or: case Opcode::Xor:
    case Opcode::Mul: case Opcode::Not: case Opcode::Neg: case Opcode::Shl:
      f.upper = ZeroExtFacts::kIfDemanded;
      break;
    case Opcode::Store8: case Opcode::Store16: case Opcode::Store32:
    case Opcode::MergeLow: case Opcode::MergeHigh8: case Opcode::Select:
    case Opcode::Shift: case Opcode::ShiftCl: case Opcode::FlagsShift: case Opcode::FlagsShiftCl:
    case Opcode::FlagsAdd: case Opcode::FlagsSub: case Opcode::FlagsImul:
    case Opcode::FlagsLogic: case Opcode::FlagsInc: case Opcode::FlagsDec:
    case Opcode::Adc: case Opcode::Sbb: case Opcode::FlagsAdc: case Opcode::FlagsSbb:
      f.upper = ZeroExtFacts::kSpecial;
      break;
    default: break;
  }
  // Whether its result's upper half is zero.
  switch (op) {
    case Opcode::ZeroExt8: case Opcode::ZeroExt16: case Opcode::Load8: case Opcode::Load16:
    case Opcode::Load32: case Opcode::Bswap32: case Opcode::TestCond: case Opcode::BoolToU64:
    case Opcode::Add32: case Opcode::Sub32: case Opcode::And32: case Opcode::Or32:
    case Opcode::Xor32: case Opcode::Mul32: case Opcode::Not32: case Opcode::Neg32:
      f.zero = 1;
      break;
    case Opcode::ZeroExt32: case Opcode::Const: case Opcode::And: case Opcode::Or: case Opcode::Xor:
    case Opcode::Shr: case Opcode::MergeLow: case Opcode::MergeHigh8: case Opcode::Select:
    case Opcode::Shift: case Opcode::ShiftCl: case Opcode::Adc: case Opcode::Sbb:
      f.zero = ZeroExtFacts::kSpecial;
      break;
    default: break;
  }
  return f;
}

// The instructions whose facts are kSpecial: whether `in` reads bits 63:32 of its argument `k`.
bool reads_upper(const ir::Inst& in, int k, bool result_demanded) {
  switch (in.op) {
    case Opcode::Store8: case Opcode::Store16: case Opcode::Store32:
      return k == 0;  // the address is read whole
    case Opcode::MergeLow: case Opcode::MergeHigh8:
      return k == 0 && result_demanded;  // only the low bytes of the second operand are read
    case Opcode::Select:
      return k == 0 || result_demanded;
    case Opcode::Shift: case Opcode::ShiftCl: {
      if (k == 2) return false;  // the count: CL
      unsigned size = shift_size(in.args[0].v);
      return size == 8 || (size < 4 && result_demanded);
    }
    case Opcode::FlagsShift: case Opcode::FlagsShiftCl:
      return k == 1 && shift_size(in.args[0].v) == 8;  // the count and old flags: low bits
    case Opcode::FlagsAdd: case Opcode::FlagsSub: case Opcode::FlagsImul:
      return in.args[2].v == 8;
    case Opcode::FlagsLogic: case Opcode::FlagsInc: case Opcode::FlagsDec:
      return in.args[1].v == 8;
    case Opcode::Adc: case Opcode::Sbb: case Opcode::FlagsAdc: case Opcode::FlagsSbb: {
      if (k == 2) return false;  // flags: only CF is read
      unsigned size = unsigned(in.args[3].v);
      bool partial = in.op == Opcode::Adc || in.op == Opcode::Sbb;
      return size == 8 || (partial && size < 4 && k == 0 && result_demanded);
    }
    default: return true;
  }
}

}  // namespace

namespace detail {

constinit const std::array<ZeroExtFacts, size_t(Opcode::Count)> kZeroExtFacts = [] {
  std::array<ZeroExtFacts, size_t(Opcode::Count)> t{};
  for (size_t k = 0; k < t.size(); ++k) t[k] = facts_of(Opcode(k));
  return t;
}();

namespace {
// Backwards: a value's users all come after it, so its demand is final when it is reached.
thread_local std::vector<uint8_t> demanded, zero_upper;  // (per-thread scratch)
}  // namespace

ZeroExtensions::ZeroExtensions(const ir::Block& b) {
  demanded.assign(b.insts.size(), 0);
  demanded_ = demanded.data();
  b.for_each_terminal([&](const ir::Terminal& t) {
    if (t.cond.valid()) demanded_[t.cond.id] = 1;
    if (t.dest.valid()) demanded_[t.dest.id] = 1;
  });
}

void ZeroExtensions::backward_by_argument(uint32_t i, const ir::Inst& in) {
  for (int k = 0; k < in.nargs; ++k)
    if (!in.args[k].is_imm && reads_upper(in, k, demanded_[i])) demanded_[in.args[k].v] = 1;
}

void ZeroExtensions::start_forward(size_t n) {
  zero_upper.assign(n, 0);
  zero_upper_ = zero_upper.data();
}

bool ZeroExtensions::forward_by_argument(uint32_t i, ir::Inst& in, std::vector<uint32_t>& alias) {
  auto zu = [&](int k) { return zero_upper_[in.args[k].v] != 0; };
  bool z = false;
  switch (in.op) {
    case Opcode::ZeroExt32:
      if (zu(0) || !demanded_[i]) {
        alias[i] = uint32_t(in.args[0].v);
        in.dead = true;
        return true;
      }
      z = true;
      break;
    case Opcode::Const: z = in.args[0].v <= 0xFFFFFFFFu; break;
    case Opcode::And: z = zu(0) || zu(1); break;
    case Opcode::Or: case Opcode::Xor: z = zu(0) && zu(1); break;
    case Opcode::Shr: z = zu(0); break;
    case Opcode::MergeLow: case Opcode::MergeHigh8: z = zu(0); break;
    case Opcode::Select: z = zu(1) && zu(2); break;
    case Opcode::Shift: case Opcode::ShiftCl: {
      unsigned size = shift_size(in.args[0].v);
      z = size == 4 || (size < 4 && zu(1));
      break;
    }
    case Opcode::Adc: case Opcode::Sbb: {
      unsigned size = unsigned(in.args[3].v);
      z = size == 4 || (size < 4 && zu(0));
      break;
    }
    default: break;
  }
  zero_upper_[i] = z;
  return false;
}

}  // namespace detail

void eliminate_zero_extensions(ir::Block& b) {
  const uint32_t n = uint32_t(b.insts.size());
  detail::ZeroExtensions step(b);
  for (uint32_t i = n; i-- > 0;)
    if (!b.insts[i].dead) step.backward(i, b.insts[i]);
  std::vector<uint32_t>& alias = identity_aliases(n);
  step.start_forward(n);
  detail::walk_forward(b, alias, [&](uint32_t i, ir::Inst& in) { step.forward(i, in, alias); });
}

}  // namespace vireo::jit::passes
