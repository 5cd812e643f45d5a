// The IR of one translation block: a list of SSA instructions and a typed terminal.
//
// A value is the index of the instruction that defines it. Arguments are either values or
// immediates, as the opcode table says. Each instruction records the guest pc of the guest
// instruction it came from, which is how a fault in translated code finds its guest state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "jit/ir/types.h"

namespace vireo::jit::ir {

struct Value {
  uint32_t id = kNone;
  static constexpr uint32_t kNone = ~0u;
  bool valid() const { return id != kNone; }
};

struct Arg {
  bool is_imm = false;
  uint64_t v = 0;  // immediate, or value id
  static Arg imm(uint64_t x) { return {true, x}; }
  static Arg val(Value x) { return {false, x.id}; }
};

struct Inst {
  Opcode op;
  uint8_t nargs = 0;
  bool dead = false;  // removed by a pass; kept in place so ids stay stable
  Arg args[4];
  uint64_t guest_pc = 0;
};

// In an ExitIf's count (its third argument): the exit is an indirect call's guess that
// missed (frontend/control.cpp). It leaves through the dispatcher, which counts it
// (jit/cache/guess_sites.h), instead of chaining to the call.
constexpr uint64_t kGuessMissExit = uint64_t(1) << 63;

// How a block ends (dynarmic's "terminal"): where control goes next.
struct Terminal {
  enum class Kind : uint8_t {
    None,       // not yet set (the verifier rejects it)
    Jump,       // to a known guest pc: `target` (chainable)
    Branch,     // `cond` ? target : fallthrough (both chainable)
    Indirect,   // to the guest pc in value `dest` (jump cache); with `cond` valid, a dispatch
                // through the block's JumpTable, `cond` its index (frontend/jump_table.h)
    Syscall,    // return to the platform: SYSCALL executed, rip = target
    Exit,       // return to the dispatcher with rip = target
    Return,     // return to the dispatcher; rip is already in the guest state (after a
                // fallback instruction that transferred control)
  };
  Kind kind = Kind::None;
  uint64_t target = 0, fallthrough = 0;
  Value cond, dest;

  // Whether one of its ways is a chainable exit to guest pc `pc`.
  bool leads_to(uint64_t pc) const {
    return (kind == Kind::Jump && target == pc) || (kind == Kind::Branch && (target == pc || fallthrough == pc));
  }
};

// A block's tail (one at most): the path taken at a side exit (an ExitIf, `entry`) whose
// target leads back to the block's start, duplicated into the block so that an if/else inside
// a loop stays one loop (`if (y & 1) acc += ..; else acc ^= ..;`). Its instructions follow
// the block's own, after a TailStart marker at `start`; they run with the guest state of the
// ExitIf, see only values defined before it, and end at `term`.
struct Tail {
  static constexpr uint32_t kNone = ~0u;
  uint32_t start = kNone;    // the TailStart instruction
  uint32_t entry = kNone;    // the ExitIf that jumps to it
  uint32_t guest_insns = 0;  // guest instructions run on this path (to the ExitIf, then the tail's)
  uint64_t guest_pc = 0, guest_end = 0;  // the tail's guest code (on the block's first page)
  Terminal term;
  bool present() const { return start != kNone; }
};

// Guest code a block was translated from: [begin, end).
struct CodeRange {
  uint64_t begin = 0, end = 0;
};

// A read-only guest jump table the block's Indirect terminal dispatches through
// (frontend/jump_table.h): entry i's target, read at translation time. The table's bytes are
// among the block's code ranges, so whatever could change them drops the block.
struct JumpTable {
  uint64_t at = 0;                // guest address of entry 0
  uint32_t entry_size = 0;        // 8 (absolute) or 4 (rel32 from `at`)
  std::vector<uint64_t> targets;  // one per index value the terminal's `cond` can take
  bool present() const { return !targets.empty(); }
};

struct Block {
  uint64_t guest_pc = 0;      // first guest instruction
  uint32_t guest_insns = 0;   // guest instructions covered
  // Its guest code: from guest_pc on, then where each jmp it followed led, then its tail's.
  std::vector<CodeRange> code;
  std::vector<Inst> insts;
  Terminal term;
  Tail tail;
  JumpTable jump_table;

  // Empties it for the next translation, keeping the vectors' storage: a fresh block
  // allocated (and first touched) ~40 KB of instructions per translation.
  void reset() {
    guest_pc = 0;
    guest_insns = 0;
    code.clear();
    insts.clear();
    term = {};
    tail = {};
    jump_table.at = 0;
    jump_table.entry_size = 0;
    jump_table.targets.clear();
  }

  // Where the block's own instructions end: its terminal's position.
  uint32_t main_end() const { return tail.present() ? tail.start : uint32_t(insts.size()); }
  // Both terminals, for passes that rewrite or count their values.
  template <class F>
  void for_each_terminal(F f) {
    f(term);
    if (tail.present()) f(tail.term);
  }
  template <class F>
  void for_each_terminal(F f) const {
    f(term);
    if (tail.present()) f(tail.term);
  }

  Type type_of(Value v) const { return info(insts[v.id].op).result; }
};

// Drops the dead instructions and renumbers the others, in order (the terminals and the
// tail's markers follow): the backend runs it first, so that its walks over the block
// (operand selection, liveness, allocation, emission) skip nothing.
void compact(Block& b);

// Text form, one instruction per line ("%3 = Add %1, %2"), for `-d op` and tests.
std::string print(const Block& b);

// Checks argument counts and types against the opcode table, that every value is defined
// before use and is not dead, and that the terminal is set and well-typed. Returns an empty
// string when the block is valid, else a description of the first problem.
std::string verify(const Block& b);

// Whether the engine verifies every block it translates: in unoptimized (debug) builds, and
// where the environment sets VIREO_JIT_VERIFY (not to 0): the test suites that exercise the
// translator do. Off otherwise: it cost 1.6-2% of `python3 -c pass` on every block.
bool verify_enabled();

}  // namespace vireo::jit::ir
