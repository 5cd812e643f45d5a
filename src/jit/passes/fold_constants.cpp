#include <algorithm>
#include <array>
#include <vector>

#include "cpu/flags.h"
#include "jit/passes/passes.h"
#include "jit/passes/steps.h"

namespace vireo::jit::passes {

using ir::Opcode;

namespace {

bool is_const(const ir::Block& b, uint64_t id, uint64_t& v) {
  const ir::Inst& d = b.insts[id];
  if (d.op != Opcode::Const) return false;
  v = d.args[0].v;
  return true;
}

bool fold(Opcode op, const uint64_t* a, uint64_t imm, uint64_t& r) {
  switch (op) {
    case Opcode::Add: r = a[0] + a[1]; return true;
    case Opcode::Sub: r = a[0] - a[1]; return true;
    case Opcode::And: r = a[0] & a[1]; return true;
    case Opcode::Or: r = a[0] | a[1]; return true;
    case Opcode::Xor: r = a[0] ^ a[1]; return true;
    case Opcode::Not: r = ~a[0]; return true;
    case Opcode::Neg: r = -a[0]; return true;
    case Opcode::Mul: r = a[0] * a[1]; return true;
    case Opcode::Add32: r = uint32_t(a[0] + a[1]); return true;
    case Opcode::Sub32: r = uint32_t(a[0] - a[1]); return true;
    case Opcode::And32: r = uint32_t(a[0] & a[1]); return true;
    case Opcode::Or32: r = uint32_t(a[0] | a[1]); return true;
    case Opcode::Xor32: r = uint32_t(a[0] ^ a[1]); return true;
    case Opcode::Mul32: r = uint32_t(a[0] * a[1]); return true;
    case Opcode::Not32: r = uint32_t(~a[0]); return true;
    case Opcode::Neg32: r = uint32_t(-a[0]); return true;
    case Opcode::Bswap32: r = __builtin_bswap32(uint32_t(a[0])); return true;
    case Opcode::Bswap64: r = __builtin_bswap64(a[0]); return true;
    case Opcode::Shl: r = a[1] >= 64 ? 0 : a[0] << a[1]; return true;
    case Opcode::Shr: r = a[1] >= 64 ? 0 : a[0] >> a[1]; return true;
    case Opcode::Sar: r = uint64_t(int64_t(a[0]) >> (a[1] >= 64 ? 63 : a[1])); return true;
    case Opcode::ZeroExt8: r = uint8_t(a[0]); return true;
    case Opcode::ZeroExt16: r = uint16_t(a[0]); return true;
    case Opcode::ZeroExt32: r = uint32_t(a[0]); return true;
    case Opcode::SignExt8: r = uint64_t(int64_t(int8_t(a[0]))); return true;
    case Opcode::SignExt16: r = uint64_t(int64_t(int16_t(a[0]))); return true;
    case Opcode::SignExt32: r = uint64_t(int64_t(int32_t(a[0]))); return true;
    case Opcode::MergeLow: {
      uint64_t m = imm == 1 ? 0xFF : 0xFFFF;
      r = (a[0] & ~m) | (a[1] & m);
      return true;
    }
    case Opcode::MergeHigh8: r = (a[0] & ~uint64_t(0xFF00)) | ((a[1] & 0xFF) << 8); return true;
    default: return false;
  }
}

// What FlagsLogic of size `size` can read instead of v: past zero-extensions that keep the low
// `size` bytes, and x & x (and eax, eax; test rax, rax), which is x.
uint64_t logic_operand(const ir::Block& b, uint64_t v, uint64_t size) {
  for (;;) {
    const ir::Inst& x = b.insts[v];
    const bool same = x.nargs >= 2 && !x.args[0].is_imm && !x.args[1].is_imm && x.args[0].v == x.args[1].v;
    if ((x.op == Opcode::And && same) || (x.op == Opcode::And32 && same && size <= 4) ||
        (x.op == Opcode::ZeroExt8 && size <= 1) || (x.op == Opcode::ZeroExt16 && size <= 2) ||
        (x.op == Opcode::ZeroExt32 && size <= 4))
      v = x.args[0].v;
    else
      return v;
  }
}

// Per opcode: whether ConstantFolding::rewrite can change an instruction of that operation at
// all: fold() computes it, one of rewrite's rules matches it, or it is pure (value numbering).
// The others (guest state reads and writes, accesses, exits: about half of a block's
// instructions) leave at once, before their operands' definitions are read: they were 5% of
// cc1's translation. (A rule added to rewrite for another operation adds it to the list.)
const bool* may_rewrite() {
  static const std::array<bool, size_t(Opcode::Count)> table = [] {
    std::array<bool, size_t(Opcode::Count)> t{};
    for (size_t k = 0; k < t.size(); ++k) {
      const Opcode o = Opcode(k);
      const uint64_t operands[4] = {};
      uint64_t r;
      switch (o) {
        case Opcode::Xor: case Opcode::Xor32: case Opcode::Sub: case Opcode::Sub32: case Opcode::FlagsLogic:
        case Opcode::Select: case Opcode::And: case Opcode::And32: case Opcode::ZeroExt8: case Opcode::ZeroExt16:
        case Opcode::MergeLow: case Opcode::Add: case Opcode::Or: case Opcode::Shl: case Opcode::Shr:
          t[k] = true;
          break;
        default: t[k] = fold(o, operands, 0, r) || detail::has_trait(o, detail::kPure);
      }
    }
    return t;
  }();
  return table.data();
}

// Value numbering's table: pure instructions by (operation, operands), open addressing over
// instruction ids. Reused from block to block (one per thread), and emptied by bumping a
// generation instead of clearing it: translation runs once per block, and a std::map of keys
// allocated per instruction was 5% of the translator's time.
class ValueTable {
 public:
  void reset(const ir::Block& b) {
    size_t want = 16;
    while (want < 2 * b.insts.size()) want *= 2;
    if (slots_.size() < want || ++gen_ == 0) {
      slots_.assign(std::max(want, slots_.size()), 0);
      gen_ = 1;
    }
    // Only the first `want` slots: the table keeps the size of the largest block seen, and
    // probing all of it scattered a small block's lookups over cold cache lines (a third of
    // this pass's time). Slots past them are of older generations, empty to this block.
    mask_ = want - 1;
  }
  void clear() {
    if (++gen_ == 0) {
      std::fill(slots_.begin(), slots_.end(), 0);
      gen_ = 1;
    }
  }
  // The earlier instruction identical to b.insts[i], or i itself, entered now.
  uint32_t find_or_add(const ir::Block& b, uint32_t i) {
    const ir::Inst& in = b.insts[i];
    for (size_t h = hash(in) & mask_;; h = (h + 1) & mask_) {
      const uint64_t s = slots_[h];
      if (uint32_t(s >> 32) != gen_) {
        slots_[h] = uint64_t(gen_) << 32 | i;
        return i;
      }
      if (same(b.insts[uint32_t(s)], in)) return uint32_t(s);
    }
  }

 private:
  static uint64_t hash(const ir::Inst& in) {
    uint64_t h = uint64_t(in.op) * 0x9E3779B97F4A7C15ull ^ in.nargs;
    for (int a = 0; a < in.nargs; ++a)
      h = (h ^ (in.args[a].v * 2 + in.args[a].is_imm)) * 0xFF51AFD7ED558CCDull;
    return h ^ (h >> 29);
  }
  static bool same(const ir::Inst& x, const ir::Inst& y) {
    if (x.op != y.op || x.nargs != y.nargs) return false;
    for (int a = 0; a < x.nargs; ++a)
      if (x.args[a].is_imm != y.args[a].is_imm || x.args[a].v != y.args[a].v) return false;
    return true;
  }
  std::vector<uint64_t> slots_;  // generation << 32 | instruction id
  uint32_t gen_ = 0;
  size_t mask_ = 0;
};

// Identities with one constant operand: x + 0, x - 0, x | 0, x ^ 0, x << 0, x >> 0 (for the
// operations rewrite asks it of): `in` is x.
bool zero_identity(const ir::Block& b, uint32_t i, ir::Inst& in, std::vector<uint32_t>& alias, uint64_t* vals) {
  if (in.args[1].is_imm || !is_const(b, in.args[1].v, vals[1]) || vals[1] != 0) return false;
  alias[i] = uint32_t(in.args[0].v);
  in.dead = true;
  return true;
}

// Per opcode: fold() computes it (from constant operands).
const bool* foldable() {
  static const std::array<bool, size_t(Opcode::Count)> table = [] {
    std::array<bool, size_t(Opcode::Count)> t{};
    const uint64_t operands[4] = {};
    uint64_t r;
    for (size_t k = 0; k < t.size(); ++k) t[k] = fold(Opcode(k), operands, 0, r);
    return t;
  }();
  return table.data();
}

}  // namespace

namespace detail {

namespace {
// Value numbering: a pure instruction identical to an earlier one (after aliasing) is that
// one (two accesses through the same address compute it, and check it, once).
thread_local ValueTable seen;  // (per-thread scratch)
}  // namespace

ConstantFolding::ConstantFolding(const ir::Block& b) : may_rewrite_(may_rewrite()), foldable_(foldable()) {
  seen.reset(b);
}

void ConstantFolding::start_tail() { seen.clear(); }

bool ConstantFolding::rewrite(const ir::Block& b, uint32_t i, ir::Inst& in, std::vector<uint32_t>& alias) {
  uint64_t vals[4] = {};
  // An operation fold() computes, on constants only: a constant.
  if (foldable_[size_t(in.op)]) {
    bool all_const = true, any_value = false;
    uint64_t imm = 0;
    for (int a = 0; a < in.nargs; ++a) {
      if (in.args[a].is_imm) {
        imm = in.args[a].v;
        continue;
      }
      any_value = true;
      if (!is_const(b, in.args[a].v, vals[a])) all_const = false;
    }
    uint64_t r;
    if (any_value && all_const && fold(in.op, vals, imm, r)) {
      in.op = Opcode::Const;
      in.nargs = 1;
      in.args[0] = ir::Arg::imm(r);
    }
  }
  // The rules by operation (one switch: asked one after another, the rules' tests of the
  // opcode were a third of this function's instructions). A rule that changes the operation
  // leaves one that no rule below it matches (a constant, BoolToU64), as when they were asked
  // in sequence.
  switch (in.op) {
    case Opcode::Xor: case Opcode::Xor32: case Opcode::Sub: case Opcode::Sub32:
      // x ^ x and x - x (xor eax, eax; sub eax, eax): 0, whatever x is.
      if (!in.args[0].is_imm && !in.args[1].is_imm && in.args[0].v == in.args[1].v) {
        in.op = Opcode::Const;
        in.nargs = 1;
        in.args[0] = ir::Arg::imm(0);
        break;
      }
      if ((in.op == Opcode::Xor || in.op == Opcode::Sub) && zero_identity(b, i, in, alias, vals)) return true;
      break;
    case Opcode::FlagsLogic:
      // The flags of a logic result read only its low `size` bytes: `test eax, eax` is the
      // flags of eax itself, not of eax & eax zero-extended (which cost a copy and an `and`).
      if (!in.args[0].is_imm) in.args[0].v = logic_operand(b, in.args[0].v, in.args[1].v);
      break;
    case Opcode::Select: {
      // A constant condition picks its operand; Select(c, 1, 0) (setcc) is the condition as
      // a number.
      uint64_t t, f, c;
      if (is_const(b, in.args[0].v, c)) {
        alias[i] = uint32_t(in.args[c ? 1 : 2].v);
        in.dead = true;
        return true;
      }
      if (is_const(b, in.args[1].v, t) && t == 1 && is_const(b, in.args[2].v, f) && f == 0) {
        in.op = Opcode::BoolToU64;
        in.nargs = 1;
      }
      break;
    }
    case Opcode::And32: case Opcode::And:
      // `test al, 1`: the byte zero-extended, masked with a constant that fits the byte, and
      // zero-extended again is the mask of the whole register.
      if (!in.args[1].is_imm && is_const(b, in.args[1].v, vals[1])) {
        const ir::Inst& x = b.insts[in.args[0].v];
        if ((x.op == Opcode::ZeroExt8 && vals[1] <= 0xFF) || (x.op == Opcode::ZeroExt16 && vals[1] <= 0xFFFF))
          in.args[0].v = x.args[0].v;
      }
      break;
    case Opcode::ZeroExt8: case Opcode::ZeroExt16: {
      const ir::Inst& x = b.insts[in.args[0].v];
      uint64_t mask;
      if ((x.op == Opcode::And32 || x.op == Opcode::And) && !x.args[1].is_imm && is_const(b, x.args[1].v, mask) &&
          mask <= (in.op == Opcode::ZeroExt8 ? 0xFFu : 0xFFFFu)) {
        alias[i] = uint32_t(in.args[0].v);
        in.dead = true;
        return true;
      }
      break;
    }
    case Opcode::MergeLow:
      // `xor eax, eax; setcc al`: the low byte of a value whose other bits are zero, over
      // zero, is that value.
      if (!in.args[0].is_imm && is_const(b, in.args[0].v, vals[0]) && vals[0] == 0) {
        const Opcode low = b.insts[in.args[1].v].op;
        if (low == Opcode::BoolToU64 || low == Opcode::ZeroExt8 || (low == Opcode::ZeroExt16 && in.args[2].v == 2)) {
          alias[i] = uint32_t(in.args[1].v);
          in.dead = true;
          return true;
        }
      }
      break;
    case Opcode::Or: case Opcode::Shl: case Opcode::Shr:
      if (zero_identity(b, i, in, alias, vals)) return true;
      break;
    case Opcode::Add:
      if (zero_identity(b, i, in, alias, vals)) return true;
      if (!in.args[0].is_imm && is_const(b, in.args[0].v, vals[0]) && vals[0] == 0) {
        alias[i] = uint32_t(in.args[1].v);
        in.dead = true;
        return true;
      }
      // (x + c) - ... + (-c): `lea rsi, [rcx+8]` then an access at [rsi-8] is an access at rcx.
      for (int k = 0; k < 2; ++k) {
        uint64_t c2, c1;
        if (in.args[k].is_imm || in.args[1 - k].is_imm || !is_const(b, in.args[k].v, c2)) continue;
        const ir::Inst& inner = b.insts[in.args[1 - k].v];
        if (inner.op != Opcode::Add) continue;
        for (int j = 0; j < 2; ++j)
          if (!inner.args[j].is_imm && !inner.args[1 - j].is_imm && is_const(b, inner.args[j].v, c1) &&
              c1 + c2 == 0 && !in.dead) {
            alias[i] = uint32_t(inner.args[1 - j].v);
            in.dead = true;
          }
      }
      if (in.dead) return true;
      break;
    default: break;
  }
  if (has_trait(in.op, kPure)) {
    const uint32_t earlier = seen.find_or_add(b, i);
    if (earlier != i) {
      alias[i] = earlier;
      in.dead = true;
      return true;
    }
  }
  return false;
}

}  // namespace detail

void fold_constants(ir::Block& b) {
  std::vector<uint32_t>& alias = identity_aliases(b.insts.size());
  detail::ConstantFolding step(b);
  detail::walk_forward(b, alias, [&](uint32_t i, ir::Inst& in) { step.forward(b, i, in, alias); });
}

}  // namespace vireo::jit::passes
