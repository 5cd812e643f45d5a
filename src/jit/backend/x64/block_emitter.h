// BlockEmitter: one IR block -> host code (the x64 backend's register allocation, lazy guest
// state and lazy flags, exits). Internal to the backend: emit_block (emitter.h) is its
// interface. The class is defined here and implemented in emitter.cpp (instructions,
// allocation, guest accesses), flag_state.cpp (lazy flags), block_exits.cpp (block ends,
// side exits, loops in place, out-of-line paths) and loop_registers.cpp (peeling, loop
// registers computed in place).
#pragma once

#include <xbyak/xbyak.h>

#include <algorithm>
#include <cstddef>
#include <list>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "cpu/cpu_state.h"
#include "jit/backend/x64/emit_alu.h"
#include "jit/backend/x64/emitter.h"
#include "jit/backend/x64/host_encoding.h"
#include "jit/backend/x64/operand_selection.h"
#include "jit/frontend/sse_forms.h"

namespace vireo::jit::x64_detail {

using ir::Opcode;
using Xbyak::Reg64;

inline constexpr int kOffGpr = offsetof(CpuState, gpr);
inline constexpr int kOffRip = offsetof(CpuState, rip);
inline constexpr int kOffFlags = offsetof(CpuState, rflags);
inline constexpr int kOffExitRequest = offsetof(CpuState, exit_request);
inline constexpr int kOffInsnCount = offsetof(CpuState, insn_count);
inline constexpr int kOffXmm = offsetof(CpuState, xmm);
inline constexpr int kOffLazyOp = offsetof(CpuState, lazy_flags_op);
inline constexpr int kOffLazyA = offsetof(CpuState, lazy_flags_a);
inline constexpr int kOffLazyB = offsetof(CpuState, lazy_flags_b);
inline constexpr int kOffIncDecOp = offsetof(CpuState, lazy_incdec_op);
inline constexpr int kOffIncDecA = offsetof(CpuState, lazy_incdec_a);
inline constexpr int kOffIncDecB = offsetof(CpuState, lazy_incdec_b);
inline constexpr int kOffSpill = offsetof(CpuState, jit_spill);
inline constexpr unsigned kSpillSlots = sizeof(CpuState::jit_spill) / 8;
static_assert(kOffIncDecOp == kOffLazyOp + 1, "a 16-bit access covers both lazy layers");
inline constexpr uint64_t kIncDecFlags = flag::ARITH & ~flag::CF;  // what inc and dec write

// Registers that hold IR values (rbx, r15, r14, r11 and rsp are reserved). r14 holds the
// guest window's limit (kLimitReg), loaded by the entry trampoline: a range check is then
// `cmp x, r14; jae` (9 bytes, no load) rather than `cmp x, [rip + limit]; jae` (13 bytes).
inline constexpr int kPool[] = {Xbyak::Operand::RAX, Xbyak::Operand::RCX, Xbyak::Operand::RDX,
                                Xbyak::Operand::RSI, Xbyak::Operand::RDI, Xbyak::Operand::R8,
                                Xbyak::Operand::R9,  Xbyak::Operand::R10, Xbyak::Operand::R12,
                                Xbyak::Operand::R13, Xbyak::Operand::RBP};
inline constexpr int kLimitReg = Xbyak::Operand::R14;
constexpr bool in_pool(int r) {
  for (int p : kPool)
    if (p == r) return true;
  return false;
}
static_assert(!in_pool(kLimitReg), "the limit register is never given out");
inline bool caller_saved(int r) {
  return r != Xbyak::Operand::R12 && r != Xbyak::Operand::R13 && r != Xbyak::Operand::R14 &&
         r != Xbyak::Operand::RBP;
}

// The operands whose register the result of `op` may take (two-address form): bit k for
// argument k (loop_registers.cpp).
unsigned in_place_operands(ir::Opcode op);

class BlockEmitter : public Xbyak::CodeGenerator {
 public:
  // Forward jumps to one place (jmp_fwd, jcc_fwd; land places it).
  struct Forward {
    uint32_t ends[2] = {0, 0};  // each jump's end (its rel32 is the 4 bytes before)
    unsigned n = 0;
  };
 public:
  struct Scratch;

 private:
  // The per-value vectors and exit lists, reused from block to block: one emitter per thread
  // at a time takes the thread's (a second one, not made today, would get its own). They
  // were a dozen mallocs and frees per block.
  struct ScratchLease {
    Scratch* s;
    bool own;
    ScratchLease();
    ~ScratchLease();
    ScratchLease(const ScratchLease&) = delete;
    ScratchLease& operator=(const ScratchLease&) = delete;
  } lease_;

 public:
  // One emitter serves a thread's blocks one after another (emit_block): Xbyak's
  // CodeGenerator, whose constructor initializes ~330 register members and a label manager,
  // and whose destructor tears the manager down, was 4-7% of a block's translation when an
  // emitter was made per block. begin_block resets everything a block's emission reads.
  explicit BlockEmitter(CodeCache& cache) : Xbyak::CodeGenerator(cache.free_bytes(), cache.begin()) {}
  // Starts a block in `cache`'s free room: every per-block member as a new emitter's.
  void begin_block(const ir::Block& b, std::vector<std::unique_ptr<FallbackInsn>>& fb,
                   CodeCache& cache, const Runtime& rt, TranslatedBlock& out,
                   bool allow_self_loop, uint16_t flags_hint, unsigned max_loop_regs = 16);

  void run();

  bool self_loop() const { return self_loop_; }
  void allow_carried_flags(bool allow) { allow_carried_flags_ = allow; }
  // Whether run() planned loop-carried flags (allow_carried_flags changes nothing else: a
  // failed attempt that planned none is not repeated without them).
  bool planned_carried_flags() const { return planned_carry_; }

  // ---- side exits (superblocks): a jcc inside the block jumps out of line, where the dirty
  // guest state of that point is written back and a chainable exit leads to its target ----
  void find_exit_conditions();
  void side_exit(uint32_t i, const ir::Inst& in);
  // The jcc rel32 of an ExitIf (its end, for `land`).
  uint32_t exit_jcc(const ir::Inst& in);

  // ---- the block's tail (ir::Tail): its ExitIf jumps to the tail (tail_jcc_end_) with the allocation
  // state of that point saved; after the block's own terminal the tail is emitted from that
  // state, as if the code between had not run (it has not, on that path) ----
  void enter_tail(uint32_t i, const ir::Inst& in);
  void emit_tail();
  // Writes a side exit's dirty state back, with its flags left lazy in CpuState as at a
  // block's end (the next block usually overwrites them).
  void write_back_for_exit(const SyncRecord& s, bool flags_pending = true);

  Reg64 free_register() const;

  // An exit back to the block's own start, and nothing that reads or writes guest registers
  // in CpuState behind the block's back (interpreter fallbacks, rep string helpers).
  static bool loops_to_itself(const ir::Block& b);

 private:
  // ---- a branch on the flags the block was entered with (`test esi, esi; jne` in one block,
  // then `jg` in the next): the previous block left them lazy in CpuState, usually the same
  // operation every time. The engine passes the lazy word it saw when that block exited; the
  // branch then re-runs that operation from CpuState's operands (compare + jcc) when the word
  // matches, instead of merging them into rflags through settle_flags. ----
  void find_branch_on_entry_flags(uint16_t hint);
  // The Branch terminal for it (every register is free: the guest state is written back).
  void branch_on_entry_flags(Forward& not_taken);

  void count_insns();
  // Interpreter fallbacks and rep string helpers among instructions [from, to): they count
  // their own guest instructions.
  uint32_t self_counting(uint32_t from, uint32_t to) const;
  // Emits instructions [from, to) (the block's own, or its tail's).
  void emit_range(uint32_t from, uint32_t to);

  // ---- loops in place: a block that exits to its own start jumps back to loop_head_, past
  // the loads of the guest registers it reads (each read's value keeps its host register for
  // the whole block). Those registers are dirty at loop_head_: at the back edge each one's
  // current value moves into its loop register, not to CpuState. Other dirty registers and
  // the flags are written back, as at any exit. ----
  // The first read of each guest register, when nothing in the block wrote it before.
  void hoist_entry_reads();
  // The guest XMM registers the block's SSE operations name (read or written).
  uint16_t xmm_regs_used() const;
  void back_edge();
  uint16_t loop_regs_mask() const;
  // What every iteration overwrites before anything can read it (a read, a possible fault, a
  // side exit): the flags, when a full flags write comes first, and the guest registers in
  // dead_at_head_gprs_. A back edge does not store them; its exit request path does.
  void find_dead_at_loop_head();
  bool dead_at_head_flags_ = false;
  uint16_t dead_at_head_gprs_ = 0;
  // ---- loop-carried lazy flags (user mode): a loop whose body can fault before its first
  // full flags write (a memory access before its `cmp`) needs, at such a fault, the flags of
  // the previous iteration's last flags operation. When that operation's operands are what
  // the back edge moves into loop registers (`add rax, rdx; cmp rax, r13`), the back edge
  // leaves the flags uncomputed in those registers instead of storing them to CpuState
  // (three stores per iteration), and the body's sync records carry the recipe over the loop
  // registers, conditional on a host register that is 0 in the first iteration (the flags
  // are CpuState's then) and 1 after such a back edge (SyncRecord::flags_if). ----
  // Plans it from the IR: the flags value the back edge carries and its operands' guest
  // registers (false: no carrying).
  bool plan_carried_flags();
  // At the loop head: takes the indicator register, pins the operands, starts the region.
  void start_carried_flags();
  // At the body's first full flags write: the carried recipe is no longer the flags.
  void end_carried_flags(uint32_t now);
  // At a back edge: true if the flags can stay in the loop registers (then the back edge
  // sets the indicator).
  bool carries_flags_now() const;
  // ---- peeling (user mode): a loop in place is emitted twice. The first copy runs the
  // first iteration only and ends with a back edge to the second, which loops onto itself.
  // The second copy needs no range check of an access whose address moves by a constant step
  // at most GuestMemory::guard - 64 bytes per iteration (an induction variable): the same
  // access succeeded one step away in the previous iteration, inside the window, so this one
  // is inside the window or in a guard, where the host faults exactly as a failed check
  // would. And its sync records carry the loop-carried flags' recipe unconditionally (no
  // indicator register: the first copy's records say the flags are CpuState's). ----
  // Whether the block is peeled: something to gain (carried flags, or an access a check of
  // which the second copy drops).
  bool plan_peeling(bool carrying);
  // In the second copy: the address value v moves by a bounded constant step per iteration.
  bool induction_covered(uint32_t v) const;
  // v moves by a constant step per iteration (0: the same every iteration) of a loop register.
  bool induction_step(uint32_t v, int64_t& step) const;
  // In the second copy: v moves by a multiple of `align` (a power of two) per iteration, so
  // the first copy's alignment check of the same access (#GP of vmovdqa & co.) covers it.
  bool induction_aligned(uint32_t v, unsigned align) const;
  bool peel_ = false;
  int copy_ = 0;                 // 0: the first copy (or not peeled), 1: the second
  bool carried_at_back_[2] = {false, false};  // each copy's back edge left the flags carried
  Xbyak::Label loop_head2_;
  uint32_t final_of_[16] = {kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone,
                            kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone};
  // Whether the back edge carries the flags (planned, with an indicator unless peeled).
  bool carrying() const { return carried_flags_ != kNone && (peel_ || carried_ind_ >= 0); }
  uint32_t carried_flags_ = kNone;  // the IR flags value the back edge carries
  unsigned carried_gpr_[2] = {0, 0};  // its operands' guest registers
  uint32_t carried_hoisted_[2] = {kNone, kNone};  // ... their loop-register values at the head
  bool carried_imm_ = false;  // its second operand is a constant
  FlagsRecipe carried_;       // the flags at the head, over the loop registers
  int carried_ind_ = -1;      // the indicator's host register (-1: not carrying)
  bool carried_active_ = false;  // from the head to the first full flags write
  bool carry_back_ = false;      // end_writes(true) left the flags carried
  bool allow_carried_flags_ = true;
  bool planned_carry_ = false;
  // The guest state a block end writes back: all that is dirty but the loop registers and,
  // on a back edge (`back`), what is dead at the loop head.
  void end_writes(bool back);
  // The branch's condition test: jumps to not_taken when it is false.
  void branch_test(const ir::Terminal& t, bool fused, Forward& not_taken);
  void exit_to(uint64_t pc);

  // ---- register allocation: linear scan over the block's SSA values ----
  void compute_last_uses();
  // Loops in place: the value a guest register holds at the back edge is computed straight
  // into its loop register when the register's value at the head is dead by then (`add rdx,
  // 8` in place instead of `lea rdi, [rax+8]` and a `mov rax, rdi` at the back edge). Planned
  // from the IR (compute_last_uses, with the head values' real last uses); alloc_result
  // checks at the definition that nothing else (lazy flags, carried flags, another guest
  // register) still holds the head value.
  void plan_coalescing(const std::vector<uint32_t>& head_last_use);
  bool coalesce_now(uint32_t i, const ir::Inst& in, int& r);
  std::vector<uint8_t>& pre_emitted_ = lease_.s->pre_emitted;  // the flags of an adc/sbb, emitted with its value
  std::vector<int8_t>& coalesce_into_ = lease_.s->coalesce_into;  // per value: the guest register whose loop register it takes
  int hoisted_of_[16] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};

  bool is_const(uint64_t id) const { return b_->insts[id].op == Opcode::Const; }
  uint64_t const_of(uint64_t id) const { return b_->insts[id].args[0].v; }
  static bool commutative(Opcode op) { return is_commutative(op); }
  static bool is32(Opcode op) { return is_32bit_form(op); }
  bool imm_arg(const ir::Inst& in, int k) const { return folded_[in.args[k].v] && is_const(in.args[k].v); }

  // The result's register: the register of an operand that dies here when the operation can
  // be done in place (two-address form), else a free one.
  Reg64 alloc_result(uint32_t i, const ir::Inst& in);
  // Guest register g is written again after instruction i with nothing between that could
  // read it, leave the block or record its location (only pure computations).
  bool overwritten_unobserved(unsigned g, uint32_t i) const;

  Reg64 val(uint64_t id) const {
    if (reg_of_[id] < 0) throw std::runtime_error("jit backend: value has no register");
    return Reg64(reg_of_[id]);
  }
  Reg64 alloc(uint32_t id, uint32_t now = kNone);
  // ---- spilling: out of registers, the value whose last use is furthest (not pinned, not
  // one the instruction being emitted reads, not a flags value) moves to a CpuState::jit_spill
  // slot; an instruction that reads it loads it back first ----
  bool evict(uint32_t now);
  void reload(uint32_t v, uint32_t now);
  // Every value instruction i reads in a register (its operands, the operands of lazy flags
  // it recomputes, a folded shift's operand): marked as needed, reloaded if spilled.
  void reload_operands(uint32_t i, const ir::Inst& in);
  // Calls fn for each value that reading v takes in a register.
  template <class F>
  void for_register_operands(uint64_t v, F fn) const;
  // Frees the register of value v if nothing needs it any more: its last use is past (`now`)
  // and no dirty guest register or flags still live in it.
  // Only the value that owns the register can free it: a value whose register was reused
  // (after its last use) must not free the new owner's.
  void maybe_free(uint32_t v, uint32_t now) {
    int r = reg_of_[v];
    if (r >= 0 && owner_[r] == v && last_use_[v] <= now && pins_[r] == 0) used_ &= ~(1u << r);
  }
  void release_dying(uint32_t i);

  // ---- lazy guest state: dirty GPRs and flags live in host registers until written back ----
  static constexpr uint32_t kNone = ~0u;
  void pin(uint32_t v) { ++pins_[reg_of_[v]]; }
  void unpin(uint32_t v, uint32_t now) {
    --pins_[reg_of_[v]];
    maybe_free(v, now);
  }
  void set_gpr_lazy(unsigned r, uint32_t v, uint32_t now) {
    uint32_t old = dirty_gpr_[r];
    dirty_gpr_[r] = v;
    pin(v);
    if (old != kNone) unpin(old, now);
  }
  // ---- lazy flags: a recomputable flags value is computed only where something reads it;
  // until then its operands stay in their registers (pinned while the flags are dirty) and
  // a sync record carries the recipe ----
  static bool recomputable(Opcode op) { return is_recomputable_flags(op); }
  bool lazy(uint64_t f) const { return recomputable(b_->insts[f].op) && reg_of_[f] < 0; }
  template <class F>
  void for_flags_inputs(uint64_t f, F fn) const {
    const ir::Inst& in = b_->insts[f];
    if (!recomputable(in.op)) return;
    if (in.op == Opcode::FlagsShift) {  // (the count is in the desc)
      if (!folded_[in.args[1].v]) fn(in.args[1].v);
      return;
    }
    int n = in.op == Opcode::FlagsAdd || in.op == Opcode::FlagsSub || in.op == Opcode::FlagsImul ? 2 : 1;
    for (int k = 0; k < n; ++k)
      if (!folded_[in.args[k].v]) fn(in.args[k].v);
  }
  FlagsRecipe recipe(uint64_t f) const;
  // r11 = the flags value f (computed now if it is lazy), of which the bits `mask` are used.
  void flags_to_r11(uint64_t f, uint64_t mask = flag::ARITH);
  void pin_flags(uint32_t f) {
    if (lazy(f)) for_flags_inputs(f, [&](uint64_t x) { pin(uint32_t(x)); });
    else pin(f);
  }
  void unpin_flags(uint32_t f, uint32_t now) {
    if (lazy(f)) for_flags_inputs(f, [&](uint64_t x) { unpin(uint32_t(x), now); });
    else unpin(f, now);
  }
  // Gives a lazy flags value a register (for a reader that is not TestCond or SetFlags).
  void materialize(uint32_t f, uint32_t now);

  void store_flags(uint32_t f, uint64_t mask);
  // The base layer (see base_flags_) to CpuState::rflags.
  void flush_base_flags(uint32_t now);
  // ---- flags left lazy in CpuState by an earlier block (CpuState::lazy_flags_op): merged
  // into rflags before this block reads rflags or keeps some of its bits ----
  void settle_cpu_flags();
  void store_lazy_codes(uint16_t codes);  // lazy_flags_op and lazy_incdec_op (flag_state.cpp)
  // At the block's exit: dirty lazy flags of an add/sub/logic operation go to CpuState as
  // the operation and its operands instead of being computed (the next block usually
  // overwrites them). So do those of an inc/dec (CpuState's second layer), with the
  // operation under it that supplies CF when it is this block's (base_flags_); otherwise CF
  // is already CpuState's.
  bool leave_flags_lazy();
  // Stores uncomputed flags (`r` over bits `mask`; `base`, if any, the operation under an
  // inc/dec that supplies CF) as CpuState's lazy layers. False if they do not fit them.
  // `pending`: CpuState may hold an earlier block's lazy flags (else an inc/dec or imul needs
  // no look at the second layer first).
  bool store_flags_lazily(const FlagsRecipe& r, uint64_t mask, const FlagsRecipe& base, bool pending);
  void store_lazy_operands(const FlagsRecipe& r);
  // Stores a computed flags value `d` written under `mask` as CpuState's lazy flags
  // (kLazyFlagsValue, or a partial code in the second layer), instead of merging it into
  // rflags; false if the mask has no code. `pending`: CpuState may hold an earlier block's.
  // With `lazy_f`, the value is that lazy flags value, computed into d = r11 here.
  bool store_flags_value(const Reg64& d, uint64_t mask, bool pending, uint32_t lazy_f = kNone);
  // Flags of an inc/dec over the flags of an add/sub/logic operation keep the older ones
  // uncomputed as the base layer (it supplies CF) instead of computing that CF at once.
  bool can_be_base(uint32_t older, uint64_t older_mask) const {
    return older_mask == flag::ARITH && lazy(older) && leaves_lazy_flags(recipe(older).op);
  }
  void set_flags_lazy(uint64_t mask, uint32_t f, uint32_t now);
  // Writes every dirty guest register and the flags to CpuState (before leaving the block,
  // before the interpreter runs, and in out-of-line fault paths).
  void write_back_all(uint32_t now, bool release = true, uint16_t keep = 0, bool keep_xmm = false,
                      bool keep_flags = false);
  void write_back_xmm_unless(bool keep_xmm, bool release) {
    if (!keep_xmm) write_back_xmm();
    if (release) xmm_dirty_ = 0;
  }
  void write_back_xmm() {
    for (unsigned x = 0; x < 16; ++x)
      if (xmm_dirty_ & (1u << x)) movdqa(guest_xmm(x), Xbyak::Xmm(int(x)));
    if (vex_loop_) leave_vex_loop();  // (every caller leaves the loop: its upper halves too)
  }
  // Only values whose last use is strictly in the past: the instruction being emitted still
  // reads its own arguments.
  void spill_dirty(uint32_t now);
  SyncRecord snapshot();

  // ---- instructions ----
  void emit(uint32_t i, const ir::Inst& in);

  // Adc/Sbb read their flags operand's CF only: lazy flags are re-run into the host CF.
  static bool reads_carry_only(Opcode op) {
    return op == Opcode::Adc || op == Opcode::Sbb || op == Opcode::FlagsAdc || op == Opcode::FlagsSbb;
  }

  // A guest register's CpuState slot (emit_cpu_mov: without Xbyak's operand objects).
  void load_gpr(const Reg64& r, unsigned guest) { emit_cpu_mov(*this, true, kOffGpr + 8 * int(guest), r); }
  void store_gpr(unsigned guest, const Reg64& r) { emit_cpu_mov(*this, false, kOffGpr + 8 * int(guest), r); }

  void copy(const Xbyak::Reg& d, const Xbyak::Reg& a) {
    if (d.getIdx() == a.getIdx()) return;
    // (the usual 64- and 32-bit moves without Xbyak's operand objects: host_encoding.h)
    if (d.getBit() == a.getBit() && (d.getBit() == 64 || d.getBit() == 32)) enc::mov_rr(*this, d.getIdx(), a.getIdx(), d.getBit() == 64);
    else mov(d, a);
  }

  // Add, with a constant or a folded scaled index as part of the address form.
  void add_op(const ir::Inst& in, const Reg64& d);

  // The other two-operand operations; a constant operand is the immediate.
  void binary(const ir::Inst& in, const Reg64& d);

  void shift(const ir::Inst& in, const Reg64& d);

  // Whether value v is below 2^(8 * bytes) (a narrow load, a zero-extension, merges of the
  // low bytes into one): a MergeLow of `bytes` into it is then a zero-extension.
  bool upper_clear(uint64_t v, unsigned bytes) const;

  // The frontend's remainder of the Div at i, `low - q * divisor` (the Mul and the Sub right
  // after it), when the host division's own remainder can stand for it: the Sub's index (its
  // Mul's in `mul`), else kNone. `rem32`: the value is the remainder's low 32 bits.
  uint32_t remainder_of_div(uint32_t i, const ir::Inst& in, uint32_t& mul, bool& rem32) const;

  // The host computed the same operation: its RFLAGS are the guest's arithmetic flags.
  void capture_flags(const Reg64& d) {
    pushfq();
    pop(d);
  }

  // Guest addresses at or past the window fault without touching the host; the rest fault (or
  // not) on the host exactly where the guest page is missing.
  // The access instruction follows right after: the sync record (the dirty state a host
  // fault there must rebuild) is taken at that offset.
  // Range checks: an address base + d2 needs no check of its own after base + d1 passed one,
  // for |d2 - d1| < the guards around the window (GuestMemory::guard) minus the widest
  // access: base + d1 < limit (mod 2^64) puts base + d2 below limit + guard, or at worst
  // guard bytes below 0 (the host's base - guard), where the host faults (a guest fault at
  // that address). So of movaps [rsi+0x20], [rsi+0x10], [rsi] only the first is checked. The
  // same address value is always covered. Likewise an aligned base + d1 makes base + d2
  // aligned when d2 - d1 is a multiple of 16.
  bool alignment_already_checked(uint32_t v);
  std::pair<uint32_t, int64_t> base_and_displacement(uint32_t v) const;
  // v as root + displacement through any chain of Add/Sub of constants (for the range and
  // alignment checks that one earlier check covers; base_and_displacement is one step, for
  // addresses folded into an access, whose base must be live).
  std::pair<uint32_t, int64_t> address_root(uint32_t v) const;
  bool range_already_checked(uint32_t v);
  bool below_window_end(uint32_t v) const;
  // The access's address is its operand k (its register may already hold the result).
  // The memory-access interface: afterwards the access is [r15 + address]. User mode: r15 =
  // guest_base and a range check (emitter.cpp); system mode (rt_->tlb_table): an inline
  // softmmu TLB lookup leaves the page's addend in r15 (memory_softmmu.cpp).
  void guest_access(const ir::Inst& in, int k, bool write);
  // An address folded into its accesses (OperandSelection: x + c, (i << s) + c).
  bool folded_address(uint64_t v) const { return folded_[v] && b_->insts[v].op == Opcode::Add; }
  // The value whose register a folded address reads: x, or the scaled index i.
  uint64_t folded_address_reg(uint64_t v) const {
    const uint64_t x = base_and_displacement(uint32_t(v)).first;
    return folded_[x] && b_->insts[x].op == Opcode::Shl ? b_->insts[x].args[0].v : x;
  }
  // A load's or store's host operand [r15 + index*scale + disp] for its guest address v: v
  // itself, a folded x + c or (i << s) + c, or a folded constant (index -1: none).
  struct GuestOperand {
    int index;
    int scale;
    int32_t disp;
  };
  GuestOperand guest_index(uint64_t v) const {
    if (folded_[v] && is_const(v)) return {-1, 1, int32_t(const_of(v))};
    if (!folded_address(v)) return {val(v).getIdx(), 1, 0};
    auto [x, c] = base_and_displacement(uint32_t(v));
    if (folded_[x] && b_->insts[x].op == Opcode::Shl)
      return {val(b_->insts[x].args[0].v).getIdx(), 1 << const_of(b_->insts[x].args[1].v), int32_t(c)};
    return {val(x).getIdx(), 1, int32_t(c)};
  }
  void softmmu_access(const ir::Inst& in, int k, bool write);
  void softmmu_slow_paths();
  // Guest instructions the block's entry counted from the one at instruction i on.
  uint32_t insns_counted_from(uint32_t i) const;
  struct SoftmmuSlow {
    int addr_reg;
    uint32_t how;  // size | write << 8 | user << 9 (the fill helper's argument)
    uint64_t pc;
    SyncRecord state;
    uint32_t skipped;
  };
  std::list<Xbyak::Label> softmmu_slow_labels_, softmmu_retry_labels_;
  std::vector<SoftmmuSlow> softmmu_slow_;
  void atomic(const ir::Inst& in, const Reg64& d);

  // ---- SSE: guest XMM register n lives in host xmm n within a block ----
  // Loaded from CpuState at its first use in the block (unless the first use only writes it),
  // written back where guest state must be exact in CpuState: block exits, helper calls, and
  // the out-of-line fault paths and host faults through the sync records (xmm_dirty). Host
  // code outside translated blocks never expects anything in the XMM registers.
  Xbyak::Address guest_xmm(uint64_t r) { return xword[rbx + kOffXmm + 16 * int(r & 15)]; }
  // Memory operand checks: inside the window, and 16-byte aligned where the form demands it
  // (a misaligned legacy-SSE m128 is #GP(0), SDM Vol. 1, 11.6.7).
  Xbyak::Address guest_mem(const ir::Inst& in, int k, const SseBits& f, bool write);
  Xbyak::Xmm xmm_in(uint64_t r) {
    unsigned x = unsigned(r & 15);
    if (!(xmm_loaded_ & (1u << x))) {
      movdqa(Xbyak::Xmm(int(x)), guest_xmm(x));
      xmm_loaded_ |= uint16_t(1u << x);
    }
    return Xbyak::Xmm(int(x));
  }
  Xbyak::Xmm xmm_out(uint64_t r) {
    unsigned x = unsigned(r & 15);
    xmm_loaded_ |= uint16_t(1u << x);
    xmm_dirty_ |= uint16_t(1u << x);
    return Xbyak::Xmm(int(x));
  }
  void sse(const ir::Inst& in, const Reg64& d);
  // pcmpistri/pcmpestri (emit_sse_string.cpp): implicit RAX, RDX and RCX.
  void sse_string(const ir::Inst& in, const Reg64& d);
  // ---- VEX (emit_avx.cpp): YMM upper halves live in CpuState; host upper halves are kept
  // only across a run of VEX ops (ymm_upper_valid_: host ymm n's upper half is the guest's).
  void vex(uint32_t i, const ir::Inst& in, const Reg64& d);
  void system_store(const ir::Inst& in);  // emit_system.cpp: SetCpuField, StoreHost32
  void check_aligned16(const ir::Inst& in);  // emit_system.cpp
  // The stub of a #GP check (misaligned SSE/AVX/CMPXCHG16B operand, non-canonical address)
  // whose jnz/jne ends at `jcc`. In system mode it hands `in` to the interpreter, which raises
  // the #GP, and gives back the instructions the block's entry counted that do not run.
  void gp_check_stub(const Xbyak::Reg64& a, const ir::Inst& in, bool write, uint32_t jcc);  // emit_system.cpp
  void end_vex_run(uint32_t i);
  // A loop in place that is one run of VEX ops (emit_avx.cpp): upper halves loaded before the
  // head and kept in the host across iterations, stored (ymm_hi_dirty_) and cleared with
  // vzeroupper only where the loop is left.
  bool plan_vex_loop() const;
  void load_vex_loop_upper_halves();  // before the head (the low halves loaded)
  void enter_vex_loop_head();         // the state at each head
  void leave_vex_loop();              // the dirty upper halves home, vzeroupper (state kept)
  void store_upper_halves(uint16_t dirty);  // those of `dirty` home, then vzeroupper
  bool vex_loop_ = false;
  uint16_t ymm_hi_dirty_ = 0;  // upper halves newer in host ymm n than in CpuState::ymm_hi
  uint16_t ymm_upper_valid_ = 0;
  bool vex_upper_dirty_ = false;  // a host upper half may be nonzero (vzeroupper at the run's end)
  uint32_t vex_run_next_ = kNone;  // the VEX op the current run continues with

  // Calls helper(CpuState*, FallbackInsn*, const GuestMemory*) with the guest state in
  // CpuState; a nonzero return leaves the block with that exit code.
  void call_helper(uint32_t i, void* helper, FallbackInsn* f);

  // The slow path of a translated instruction (Div): the guest state at the instruction goes
  // to CpuState, the interpreter runs it and the block is left with its exit code.
  Xbyak::Label& interpreter_exit(const ir::Inst& in, uint64_t fallback) {
    interpreter_exits_.push_back({snapshot(), (*fb_)[fallback].get()});
    return interpreter_exit_labels_.emplace_back();
  }

  // ---- block ends ----
  void exit_with(uint32_t code) {
    enc::mov_r32_imm(*this, Xbyak::Operand::EAX, code);
    enc::jmp_abs(*this, rt_->exit_stub);
  }
  void set_rip(uint64_t pc) {
    enc::mov_r64_imm(*this, Xbyak::Operand::R11, pc);
    emit_cpu_mov(*this, false, kOffRip, r11);
  }
  // A chainable exit: a 5-byte jmp that leads to a link stub until the dispatcher patches it.
  void chainable_exit(uint64_t target);
  // User mode checks the exit request where a block leaves for a pc at or below its own start
  // and at indirect branches, not at every block entry: any cycle of chained blocks has such
  // an edge (their start pcs cannot all increase around it), so a pending request still stops
  // every loop; straight-line chains (python's bytecode handlers, a call's way down) skip
  // the compare. System mode keeps the entry check (where interrupts are taken).
  bool edge_checks() const { return !rt_->tlb_table; }
  void edge_request_check(uint64_t target);
  std::vector<std::pair<uint32_t, uint64_t>>& edge_requests_ = lease_.s->edge_requests;  // their jne's end, the exit's target pc
  // Under --stats: one more jump-cache hit or miss.
  void count_lookup(uint64_t* counter);
  // The canonical-address check of an indirect branch's target, made on the jump cache's miss
  // path only (block_exits.cpp): a hit is the pc of a translated block, canonical.
  void find_deferred_canonical();
  void deferred_canonical_check(const Reg64& target);
  uint32_t deferred_canonical_ = kNone;  // that CheckCanonical (emitted as nothing where it is)
  int32_t deferred_rsp_step_ = 0;        // what the branch added to rsp after it (ret: 8 + imm16)
  // A `call [mem]`/`call reg`'s push of its return address, emitted after the jump-cache probe
  // on each way out instead of where it is (block_exits.cpp, deferred_push).
  uint32_t deferred_push_ = kNone;
  void deferred_push(const Reg64& sp);
  bool deferrable_push(uint32_t check, uint32_t push, uint32_t rsp_set) const;

  // The block's terminal, or its tail's (`fused`: the branch's TestCond is a host jcc).
  void terminal(const ir::Terminal& t, bool fused);
  // A dispatch through the block's jump table (frontend/jump_table.h): `jmp [exits +
  // index*8]`, one chainable exit per entry; the table of exits, the ExitSlot of each and the
  // link stub of the unlinked ones go after the out-of-line code (block_exits.cpp).
  void jump_table_dispatch(const Reg64& index, uint32_t& avoid);
  void emit_exit_table();
  struct ExitTable {
    bool on = false;
    int index = -1;                 // the index's host register
    const uint8_t* miss = nullptr;  // the jump-cache probe (an entry no block can be chained to)
    Xbyak::Label exits, slots;
  } exit_table_;

  void out_of_line();

  void merge_flags_into(const Reg64& d, uint32_t f, uint64_t mask);

  // Writes the dirty guest state of a sync record to CpuState.
  void write_back(const SyncRecord& state);

  struct SideExit {
    SyncRecord state;
    uint64_t target;
    uint64_t skipped;  // guest instructions of the block after the exit
    uint32_t jcc_end;    // the end of its jcc rel32, patched at its stub
    bool flags_pending;  // cpu_flags_pending_ there
    bool guess_miss;     // ir::kGuessMissExit: to the dispatcher, never chained
  };

  struct InterpreterExit {
    SyncRecord state;
    FallbackInsn* insn;
  };

  struct RangeFault {
    int addr_reg;
    uint64_t pc;
    bool write;
    SyncRecord state;  // dirty guest state to write back before reporting the fault
    uint8_t vector;    // VEC_PF (outside the window) or VEC_GP (misaligned SSE operand)
    // A #PF whose access's sync record (at this host offset) holds the state as it is at the
    // check: the stub leaves through Runtime::range_fault as a host fault there (no `state`).
    uint32_t access = kNoAccess;
    static constexpr uint32_t kNoAccess = ~0u;
    uint32_t jcc_end = 0;  // the end of the check's jcc rel32 to the stub, patched at the stub
    uint32_t skipped = 0;  // system mode: instructions the entry counted that do not run
    // The check compared addr_reg, the base of the access's address addr_reg + recheck_disp
    // (guest_access.cpp): the stub checks the address itself before it reports the fault.
    bool recheck = false;
    int32_t recheck_disp = 0;
  };
  // A jcc rel32 (0F 80+cc) or jmp rel32 (E9) to a stub out of line, patched when out_of_line
  // places the stub (`land`; Xbyak labels cost hash-table work each, and there is one of these
  // per access). Returns the jump's end.
  uint32_t jcc_to_stub(uint8_t cc) {
    enc::jump_rel32_unset(*this, cc);
    return uint32_t(getSize());
  }
  uint32_t jmp_to_stub() {
    enc::jump_rel32_unset(*this, -1);
    return uint32_t(getSize());
  }
  // Forward jumps to a place emitted later, patched when it is placed (`land`), for the same
  // reason: a block's branches, side exits and exit paths took several Xbyak labels each
  // (docs/jit.md, "Translation cost"). The encodings are Xbyak's for a near label (jcc/jmp
  // rel32), or for a short one (rel8: `jcc8`, `land8`). (Forward: at the top.)
  void jcc_fwd(uint8_t cc, Forward& f) { f.ends[f.n++] = jcc_to_stub(cc); }
  void jmp_fwd(Forward& f) { f.ends[f.n++] = jmp_to_stub(); }
  void land(uint32_t end) { rewrite(end - 4, uint32_t(getSize() - end), 4); }
  void land(const Forward& f) {
    for (unsigned k = 0; k < f.n; ++k) land(f.ends[k]);
  }
  uint32_t jcc8(uint8_t cc) {
    db(0x70 | cc);
    db(0);
    return uint32_t(getSize());
  }
  void land8(uint32_t end) {
    const size_t d = getSize() - end;
    if (d > 127) throw std::runtime_error("jit backend: short jump out of range");
    rewrite(end - 1, d, 1);
  }
  // Stubs every block had whether or not anything jumped to them: placed only when used.
  // (The jumps' lists are the thread's scratch: a checked block's five entry compares grew a
  // vector of its own through four mallocs.)
  std::vector<uint32_t>& to_exit_request_ = lease_.s->to_exit_request;
  std::vector<uint32_t>& to_leave_with_r11_ = lease_.s->to_leave_with_r11;
  // A checked block's entry compares (entry_check.cpp): their jne's ends, to the kExitStale exit.
  void check_entry_bytes();
  std::vector<uint32_t>& to_stale_ = lease_.s->to_stale;

  // The block being emitted and where (begin_block).
  const ir::Block* b_ = nullptr;
  std::vector<std::unique_ptr<FallbackInsn>>* fb_ = nullptr;
  const Runtime* rt_ = nullptr;
  TranslatedBlock* out_ = nullptr;
  std::vector<int>& reg_of_ = lease_.s->reg_of;
  std::vector<uint32_t>& last_use_ = lease_.s->last_use;
  std::vector<int8_t>& slot_of_ = lease_.s->slot_of;     // per value: its spill slot while spilled, else -1
  uint16_t slots_used_ = 0;
  std::vector<uint32_t>& needed_at_ = lease_.s->needed_at; // per value: the instruction that reads it in a register now
  std::vector<uint8_t>& folded_ = lease_.s->sel.folded;  // constants taken as immediates, shifts taken as lea scales
  // Per value, set by compute_last_uses: read as itself in a register (not folded, not lazy
  // flags, not a TestCond that a jcc may take). The walks over operands (last uses, reloads,
  // releases) take these, most operands, without a look at the defining instruction.
  std::vector<uint8_t>& simple_ = lease_.s->simple;
  bool fused_branch_ = false;    // the Branch's TestCond is folded into a host jcc
  bool fused_tail_branch_ = false;  // ... the tail's
  // What enter_tail saves for emit_tail: everything the allocation and lazy state track.
  struct State {
    std::vector<int> reg_of;
    uint32_t used;
    int pins[16];
    uint32_t owner[16], dirty_gpr[16], dirty_flags, base_flags;
    uint16_t xmm_loaded, xmm_dirty, written;
    uint64_t dirty_flags_mask;
    bool cpu_flags_pending;
    std::vector<std::pair<uint32_t, int64_t>> checked_ranges, checked_alignments;
    std::vector<int8_t> slot_of;
    uint16_t slots_used;
  };
  State save() const;
  void restore(const State& s);
  State at_tail_;
  uint32_t tail_jcc_end_ = 0;  // the ExitIf's jcc to the tail
  uint32_t used_ = 0;
  int pins_[16] = {};
  uint32_t owner_[16] = {kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone,
                         kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone};
  uint16_t xmm_loaded_ = 0, xmm_dirty_ = 0;  // guest XMM registers held in host xmm (same number)
  uint32_t dirty_gpr_[16] = {kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone,
                             kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone};
  uint32_t dirty_flags_ = kNone;
  // Under dirty inc/dec flags: the lazy add/sub/logic flags before them, which supply CF
  // (CpuState's two layers, kept in the block). Always lazy; kNone when CF is CpuState's.
  uint32_t base_flags_ = kNone;
  bool self_loop_ = false;
  uint16_t entry_flags_hint_ = 0;  // the Branch tests the entry flags, guessed to be this lazy word
  std::vector<uint8_t>& hoisted_ = lease_.s->hoisted;  // GetGpr loaded before loop_head_
  unsigned max_loop_regs_ = 16;   // hoisted at most (the others are read in each iteration)
  int loop_reg_[16] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
  uint16_t written_ = 0;  // guest registers the block has set so far
  Xbyak::Label loop_head_;
  std::vector<uint8_t>& exit_cond_ = lease_.s->exit_cond;       // a TestCond only an ExitIf (or a Select) reads
  std::vector<uint8_t>& fused_exit_cond_ = lease_.s->fused_exit_cond; // ... emitted as its jcc (cmovcc)
  std::vector<SideExit>& side_exits_ = lease_.s->side_exits;
  std::vector<std::pair<uint32_t, int64_t>>& checked_ranges_ = lease_.s->checked_ranges;  // (base value, displacement) checked
  std::vector<std::pair<uint32_t, int64_t>>& checked_alignments_ = lease_.s->checked_alignments;  // ... found 16-byte aligned
  bool cpu_flags_pending_ = true;  // CpuState may hold lazy flags of an earlier block
  uint64_t dirty_flags_mask_ = 0;
  std::vector<uint32_t>& link_jmp_ends_ = lease_.s->link_jmp_ends;  // each chainable exit's jmp rel32 (its end)
  std::vector<ExitSlot*>& link_slots_ = lease_.s->link_slots;
  std::vector<RangeFault>& range_fault_info_ = lease_.s->range_faults;
  std::list<Xbyak::Label> interpreter_exit_labels_;
 public:
  struct Scratch {
    std::vector<int> reg_of;
    std::vector<uint32_t> last_use, needed_at, link_jmp_ends, to_exit_request, to_leave_with_r11, to_stale;
    std::vector<int8_t> slot_of, coalesce_into;
    std::vector<uint8_t> hoisted, pre_emitted, exit_cond, fused_exit_cond, simple;
    OperandSelection sel;
    std::vector<ExitSlot*> link_slots;
    std::vector<RangeFault> range_faults;
    // (and the lists of side exits, checked addresses, edge checks and interpreter exits:
    // grown from empty in every emitter, they were ~4 of the ~17 mallocs of a block)
    std::vector<SideExit> side_exits;
    std::vector<std::pair<uint32_t, int64_t>> checked_ranges, checked_alignments;
    std::vector<std::pair<uint32_t, uint64_t>> edge_requests;
    std::vector<InterpreterExit> interpreter_exits;
    std::vector<void*> slot_room;  // a jump table's exit slots, allocated at once
    void clear_lists() {
      link_jmp_ends.clear();
      to_exit_request.clear();
      to_leave_with_r11.clear();
      to_stale.clear();
      link_slots.clear();
      range_faults.clear();
      side_exits.clear();
      checked_ranges.clear();
      checked_alignments.clear();
      edge_requests.clear();
      interpreter_exits.clear();
    }
  };  // (a list: empty costs no allocation)
  std::vector<InterpreterExit>& interpreter_exits_ = lease_.s->interpreter_exits;
};

}  // namespace vireo::jit::x64_detail
