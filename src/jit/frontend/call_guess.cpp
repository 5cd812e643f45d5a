// A guess of an indirect call's target at translation time (docs/jit.md, "Indirect calls
// guessed at translation time"): the block is translated when the dispatcher is about to run
// it from its start, so the guest state it will start with is known. A target computed from
// that state by the block's own IR (a register, or one load from a frame or struct slot at a
// register plus constants) is what the call goes to on this run, and at a site whose function
// pointer is an argument (qsort's comparison callback) on every run; only code the guest
// cannot write is guessed (not a guest JIT's). The guess is never trusted: the block
// compares the target with it (control.cpp). So nothing here needs to be exact, only
// harmless: guest memory is read under a fault scope, and any value this cannot follow
// makes no guess.
#include "jit/frontend/call_guess.h"

#include <sys/mman.h>

#include "cpu/cpu_state.h"
#include "mem/address_space.h"
#include "mem/host_fault.h"

namespace vireo::jit {

namespace {

using ir::Opcode;

class Evaluator {
 public:
  Evaluator(const GuestMemory& mem, const CpuState& entry, const ir::Block& block)
      : mem_(mem), entry_(entry), block_(block) {}

  bool value(uint32_t id, uint64_t& out, int depth = 0) {
    if (depth > 12 || id >= block_.insts.size()) return false;
    const ir::Inst& in = block_.insts[id];
    auto arg = [&](int i, uint64_t& v) { return !in.args[i].is_imm && value(uint32_t(in.args[i].v), v, depth + 1); };
    uint64_t a = 0, b = 0;
    switch (in.op) {
      case Opcode::Const: out = in.args[0].v; return true;
      case Opcode::GetGpr: return entry_gpr(id, unsigned(in.args[0].v), out);
      case Opcode::Add: if (!arg(0, a) || !arg(1, b)) return false; out = a + b; return true;
      case Opcode::Sub: if (!arg(0, a) || !arg(1, b)) return false; out = a - b; return true;
      case Opcode::Shl: if (!arg(0, a) || !arg(1, b)) return false; out = a << (b & 63); return true;
      case Opcode::Add32: if (!arg(0, a) || !arg(1, b)) return false; out = uint32_t(a + b); return true;
      case Opcode::ZeroExt32: if (!arg(0, a)) return false; out = uint32_t(a); return true;
      case Opcode::Load64: return load(id, in, out, depth);
      default: return false;
    }
  }

 private:
  // A GetGpr reads the block's entry value unless something in the block wrote the register
  // before it (the builder's cache hands out written values itself; an op after an
  // interpreter fallback or a helper reads CpuState again).
  bool entry_gpr(uint32_t id, unsigned reg, uint64_t& out) {
    if (reg >= 16) return false;
    for (uint32_t i = 0; i < id; ++i) {
      const ir::Inst& in = block_.insts[i];
      if ((in.op == Opcode::SetGpr && in.args[0].v == reg) || !pure(in.op)) return false;
    }
    out = entry_.gpr[reg];
    return true;
  }

  static bool pure(Opcode op) {
    return op != Opcode::Interpret && op != Opcode::Div && op != Opcode::RepString;
  }

  // One load (a vtable's entry behind an object's pointer is two: a virtual call's target
  // changes with the object, so it is not guessed). A store earlier in the block to the same
  // qword gives its value; any other store that may overlap makes no guess.
  bool load(uint32_t id, const ir::Inst& in, uint64_t& out, int depth) {
    if (loads_++ > 0 || in.args[0].is_imm) return false;
    uint64_t addr = 0;
    if (!value(uint32_t(in.args[0].v), addr, depth + 1)) return false;
    for (uint32_t i = id; i-- > 0;) {
      const ir::Inst& s = block_.insts[i];
      if (!pure(s.op)) return false;
      unsigned size = s.op == Opcode::Store8 ? 1 : s.op == Opcode::Store16 ? 2 : s.op == Opcode::Store32 ? 4
                    : s.op == Opcode::Store64 ? 8 : s.op == Opcode::Store128 ? 16 : 0;
      if (!size) continue;
      uint64_t at = 0;
      const int saved = loads_;
      loads_ = 1;  // (a store's address: registers and constants only)
      const bool known = !s.args[0].is_imm && value(uint32_t(s.args[0].v), at, depth + 1);
      loads_ = saved;
      if (!known) return false;
      if (at + size <= addr || addr + 8 <= at) continue;
      if (at != addr || size != 8 || s.args[1].is_imm) return false;
      loads_ = 1;
      return value(uint32_t(s.args[1].v), out, depth + 1);
    }
    uint64_t v = 0;
    if (!guarded_copy(mem_, &v, addr, 8, false)) return false;
    out = v;
    return true;
  }

  const GuestMemory& mem_;
  const CpuState& entry_;
  const ir::Block& block_;
  int loads_ = 0;
};

}  // namespace

uint64_t guess_call_target(const GuestMemory& mem, const CpuState& entry, const ir::Block& block, ir::Value target) {
  if (!target.valid()) return 0;
  uint64_t guess = 0;
  Evaluator e(mem, entry, block);
  if (!e.value(target.id, guess)) return 0;
  // A canonical user address, not null: the compare then proves the call's target canonical.
  if (guess == 0 || guess >= (uint64_t(1) << 47) || !mem.space) return 0;
  // And code the guest cannot write: a program's own functions, which function pointers
  // passed as arguments name for a whole run. Code in writable memory is generated code,
  // which a guest JIT replaces and calls in turn from the same site (codegen: a new function
  // every 2,000 calls, each call then a miss: 0.41 -> 0.44-0.62 s).
  const int prot = mem.space->prot_at(guess);
  return prot >= 0 && (prot & PROT_EXEC) && !(prot & PROT_WRITE) ? guess : 0;
}

uint32_t count_guessed_calls(const ir::Block& block) {
  uint32_t n = 0;
  for (const ir::Inst& in : block.insts)
    n += !in.dead && in.op == Opcode::ExitIf && (in.args[2].v & ir::kGuessMissExit);
  return n;
}

}  // namespace vireo::jit
