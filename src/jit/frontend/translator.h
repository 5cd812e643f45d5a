// Frontend: guest instructions -> IR for one translation block.
//
// One file per instruction family, mirroring src/interp/. A family function returns false for
// a form it does not translate; the translator then emits an Interpret op, which runs that one
// instruction in the interpreter (counted by mnemonic in --stats).
#pragma once

#include <algorithm>

#include <Zydis/Mnemonic.h>

#include <array>
#include <cstdint>
#include <vector>

#include "cpu/decoder.h"
#include "cpu/insn.h"
#include "jit/ir/builder.h"
#include "mem/guest_memory.h"

namespace vireo {
class Interpreter;
struct CpuState;
}

namespace vireo::jit {

using ir::Value;

struct SystemContext;  // (frontend/system.h)
class CodeCache;       // (cache/code_cache.h)
class GuessSites;      // (cache/guess_sites.h)

// An instruction the translated code runs in the interpreter, wholly (an Interpret op) or on
// the slow path of a translated one (Div, RepString).
struct FallbackSite {
  Insn insn;
  uint64_t pc;
};

class Translator {
 public:
  // `builder` is the block's (or its tail's): one for all its instructions, so that its
  // cache of guest state (ir::GuestStateCache) spans the block.
  Translator(ir::Builder& builder, const Insn& in, uint64_t pc, std::vector<FallbackSite>& fallbacks)
      : ir(builder), in(in), pc(pc), fallbacks_(fallbacks) {
    ir.set_guest_pc(pc);
  }

  ir::Builder& ir;
  const Insn& in;
  uint64_t pc;                 // this instruction's address
  uint64_t next_pc() const { return pc + in.len; }
  bool ends_block = false;     // set when the instruction set the block's terminal
  const SystemContext* sys = nullptr;  // system mode: the block's privilege (frontend/system.cpp)
  // The guest instructions of the block before this one, for a side exit back to it (ExitIf's
  // count); -1 where none may be taken (a loop's tail).
  int64_t insns_before = -1;
  // The guest memory and the state the block starts with, where an indirect call's target
  // may be guessed (call_guess.h; user mode, the dispatcher about to run the block); else null.
  const GuestMemory* guess_mem = nullptr;
  const CpuState* guess_entry = nullptr;
  const GuessSites* guess_sites = nullptr;  // the sites not to guess (BlockLimits::guess_sites)
  // The guest memory where a `jmp` through a read-only jump table may become a dispatch
  // through the block's own table of exits (jump_table.h; user mode, chaining on); else null.
  const GuestMemory* table_mem = nullptr;

  // Operand access, mirroring Exec::read/write: values are zero-extended to 64 bits.
  Value read(const Operand& o, unsigned size);
  void write(const Operand& o, unsigned size, Value v);
  // The whole 64-bit register after writing v to the register operand o (a 32-bit write
  // zero-extends, narrower ones merge), as `write` would set it.
  Value register_after_write(const Operand& o, Value v);
  Value address(const Operand& o);     // linear guest address of a memory operand
  Value load(Value addr, unsigned size);
  void store(Value addr, unsigned size, Value v);
  Value constant(uint64_t v) { return ir.constant(v); }
  Value zero_extend(Value v, unsigned size);
  Value sign_extend(Value v, unsigned size);

  // Records this instruction for the interpreter; returns its fallback index.
  uint64_t add_fallback() {
    fallbacks_.push_back({in, pc});
    return fallbacks_.size() - 1;
  }

  // True if the operand can be translated (GPR, memory or immediate).
  static bool is_integer_operand(const Operand& o) {
    return o.kind == OpKind::Imm || o.kind == OpKind::Mem ||
           (o.kind == OpKind::Reg && (o.rclass == RegClass::Gpr || o.rclass == RegClass::GprHigh));
  }

 private:
  std::vector<FallbackSite>& fallbacks_;
};

// A read-modify-write destination: a memory operand is addressed once, for the load and the
// store, as the hardware does.
struct RmwDestination {
  const Operand& op;
  unsigned size;
  Value addr;
  RmwDestination(Translator& t, const Operand& d, unsigned size)
      : op(d), size(size), addr(d.kind == OpKind::Mem ? t.address(d) : Value{}) {}
  Value read(Translator& t) const { return addr.valid() ? t.load(addr, size) : t.read(op, size); }
  void write(Translator& t, Value v) const {
    if (addr.valid()) t.store(addr, size, v);
    else t.write(op, size, v);
  }
  bool in_memory() const { return addr.valid(); }
};

using FrontendFn = bool (*)(Translator&, const Insn&);
using FrontendTable = std::array<FrontendFn, ZYDIS_MNEMONIC_MAX_VALUE + 1>;

void register_frontend_alu(FrontendTable& t);
void register_frontend_move(FrontendTable& t);
void register_frontend_control(FrontendTable& t);
void register_frontend_stack(FrontendTable& t);
void register_frontend_sse(FrontendTable& t);
void register_frontend_shift_muldiv(FrontendTable& t);
void register_frontend_bit(FrontendTable& t);
void register_frontend_bmi(FrontendTable& t);
void register_frontend_adx(FrontendTable& t);
void register_frontend_crc32(FrontendTable& t);
void register_frontend_atomic(FrontendTable& t);
void register_frontend_string(FrontendTable& t);
void register_frontend_flag_ops(FrontendTable& t);
void register_frontend_avx(FrontendTable& t);  // last: takes the V* mnemonics left

const FrontendTable& frontend_table();
// A locked read-modify-write (interp/dispatch.h: is_locked_rmw) as host atomics (locked.cpp);
// false for the forms left to the interpreter's locked path.
bool translate_locked(Translator& t, const Insn& in);

// At most this many calls followed in one block (translate_block).
constexpr uint32_t kMaxFollowedCalls = 4;

// A near `ret` without an immediate at the 64-bit operand size (control.cpp).
bool is_plain_near_ret(const Insn& in);
// The `ret` of a callee followed from its direct `call` (translate_block): goes on at
// `continuation` when the return address is that, else leaves by a side exit to the `ret`'s
// own pc (`insns_before`: the guest instructions the block ran before it). Sets a Jump to
// `continuation`, which translate_block follows or keeps as the terminal.
void translate_known_return(Translator& t, const Insn& in, uint64_t continuation, uint32_t insns_before);

// Reads guest code: returns up to 15 bytes at `pc` (fewer at the end of a mapping).
// Returns false when `pc` itself is not readable.
using CodeReader = bool (*)(const GuestMemory& mem, uint64_t pc, uint8_t* out, size_t& len);

struct BlockLimits {
  uint32_t max_insns = 64;
  bool superblocks = true;  // conditional branches inside a block become side exits
  // At most this many: code past several exits is often never run, and translating it
  // costs start-up time.
  uint32_t max_side_exits = 3;
  // System mode (src/jit/system/): what user mode translates as the platform's (SYSCALL)
  // or through the guest window (rep string helpers) runs in the system interpreter.
  bool system_mode = false;
  // System mode: what the privileged instructions are translated under (frontend/system.h).
  const SystemContext* system = nullptr;
  // A debugger's breakpoints (sorted), or null: a block ends before each, so that the
  // dispatcher sees the breakpoint's PC before its instruction runs.
  const std::vector<uint64_t>* breakpoints = nullptr;
  // The interpreter tier whose decode cache already holds most instructions of a block that
  // gets translated (it ran them --translate-after times), or null: Zydis decoded each
  // instruction twice otherwise, 17% of the time translating took.
  const Interpreter* decoded = nullptr;
  // A block from a checked page (docs/jit.md, "Checked pages"): it verifies its bytes only at
  // entry, so it ends after any instruction that may write memory (the next block's entry
  // check sees a store to the code that follows), and has no tail.
  bool end_after_store = false;
  // The translation cache (user mode), or null: a block's path stops where an already
  // translated block starts, and chains to it, unless that block leads back to this one's
  // start (a loop, which stays one block looping in place). A quarter of cc1's translated
  // instructions were copies of code other blocks held already (issue 22).
  const CodeCache* translated = nullptr;
  // Translation follows a direct `call` into its callee and the callee's `ret` back
  // (translate_block; --no-follow-calls).
  bool follow_calls = true;
  // The guest state the block will start with (the dispatcher translates it to run it now),
  // or null: an indirect call's target computed from it is guessed (call_guess.h).
  const CpuState* entry = nullptr;
  // The indirect-call sites whose guesses kept missing (guess_sites.h), or null.
  const GuessSites* guess_sites = nullptr;
  // A `jmp` through a read-only jump table becomes a multi-way chainable exit
  // (jump_table.h): the engine chains blocks and has a jump cache.
  bool jump_tables = false;
  bool breaks_at(uint64_t pc) const {
    return breakpoints && std::binary_search(breakpoints->begin(), breakpoints->end(), pc);
  }
};

// VEX instructions (avx.cpp) are translated in user mode only, where the CPU model fixes XCR0.
bool avx_translatable(const Insn& in, const BlockLimits& limits);

// Decodes and translates one block starting at `pc`. `fallbacks` receives the instructions
// the block runs in the interpreter (the index is in the Interpret, Div or RepString op).
// Returns false if the first instruction cannot even be fetched/decoded: the caller then lets
// the interpreter raise the fault.
bool translate_block(const GuestMemory& mem, uint64_t pc, const BlockLimits& limits,
                     ir::Block& block, std::vector<FallbackSite>& fallbacks, bool interpret_all);

}  // namespace vireo::jit
