#include "jit/backend/x64/emitter.h"

#include <xbyak/xbyak.h>

#include <algorithm>
#include <cstddef>
#include <deque>
#include <stdexcept>
#include <utility>

#include "cpu/cpu_state.h"
#include "jit/backend/x64/emit_alu.h"
#include "jit/backend/x64/emit_bits.h"
#include "jit/backend/x64/emit_div.h"
#include "jit/backend/x64/emit_sse.h"
#include "jit/backend/x64/operand_selection.h"
#include "jit/frontend/sse_forms.h"

namespace vireo::jit {

using ir::Opcode;
using Xbyak::Reg64;

namespace {

constexpr int kOffGpr = offsetof(CpuState, gpr);
constexpr int kOffRip = offsetof(CpuState, rip);
constexpr int kOffFlags = offsetof(CpuState, rflags);
constexpr int kOffExitRequest = offsetof(CpuState, exit_request);
constexpr int kOffInsnCount = offsetof(CpuState, insn_count);
constexpr int kOffXmm = offsetof(CpuState, xmm);
constexpr int kOffLazyOp = offsetof(CpuState, lazy_flags_op);
constexpr int kOffLazyA = offsetof(CpuState, lazy_flags_a);
constexpr int kOffLazyB = offsetof(CpuState, lazy_flags_b);
constexpr int kOffIncDecOp = offsetof(CpuState, lazy_incdec_op);
constexpr int kOffIncDecA = offsetof(CpuState, lazy_incdec_a);
static_assert(kOffIncDecOp == kOffLazyOp + 1, "a 16-bit access covers both lazy layers");
constexpr uint64_t kIncDecFlags = flag::ARITH & ~flag::CF;  // what inc and dec write

// Registers that hold IR values (rbx, r15, r11 and rsp are reserved).
const int kPool[] = {Xbyak::Operand::RAX, Xbyak::Operand::RCX, Xbyak::Operand::RDX,
                     Xbyak::Operand::RSI, Xbyak::Operand::RDI, Xbyak::Operand::R8,
                     Xbyak::Operand::R9,  Xbyak::Operand::R10, Xbyak::Operand::R12,
                     Xbyak::Operand::R13, Xbyak::Operand::R14, Xbyak::Operand::RBP};
bool caller_saved(int r) {
  return r != Xbyak::Operand::R12 && r != Xbyak::Operand::R13 && r != Xbyak::Operand::R14 &&
         r != Xbyak::Operand::RBP;
}

class BlockEmitter : public Xbyak::CodeGenerator {
 public:
  BlockEmitter(const ir::Block& b, std::vector<std::unique_ptr<FallbackInsn>>& fb, CodeCache& cache,
               const Runtime& rt, TranslatedBlock& out, bool allow_self_loop, uint16_t flags_hint)
      : Xbyak::CodeGenerator(cache.free_bytes(), cache.begin()), b_(b), fb_(fb), rt_(rt), out_(out),
        reg_of_(b.insts.size(), -1), last_use_(b.insts.size(), 0), hoisted_(b.insts.size(), 0) {
    self_loop_ = allow_self_loop && rt.self_loops && loops_to_itself(b);
    if (!self_loop_) find_branch_on_entry_flags(flags_hint);
  }

  void run() {
    OperandSelection sel = select_operands(b_);
    folded_ = std::move(sel.folded);
    fused_branch_ = sel.fused_branch;
    if (self_loop_) hoist_entry_reads();
    find_exit_conditions();
    if (entry_flags_hint_) {  // the branch's GetFlags and TestCond: part of the terminal
      folded_[b_.term.cond.id] = 1;
      folded_[b_.insts[b_.term.cond.id].args[0].v] = 1;
    }
    compute_last_uses();
    // Exit check at block entry (design: interrupt/exit checks at TB entry), then count the
    // block's guest instructions.
    cmp(dword[rbx + kOffExitRequest], 0);
    jne(exit_request_, T_NEAR);
    count_insns();
    if (self_loop_) {  // the guest registers the block reads, loaded once for all iterations
      for (uint32_t i = 0; i < b_.insts.size(); ++i)
        if (hoisted_[i]) {
          unsigned r = unsigned(b_.insts[i].args[0].v & 15);
          Reg64 h = alloc(i);
          loop_reg_[r] = h.getIdx();
          mov(h, qword[rbx + kOffGpr + 8 * int(r)]);
          // Newer than CpuState from the second iteration on (the back edge moves the current
          // value here without storing it), so dirty from the start: the sync records of the
          // body then rebuild it from this register in every iteration.
          set_gpr_lazy(r, i, i);
        }
      // Likewise every XMM register the block uses: loaded here, dirty from the start, held
      // in host xmm across iterations and stored only on the way out.
      const uint16_t xmm = xmm_regs_used();
      for (unsigned x = 0; x < 16; ++x)
        if (xmm & (1u << x)) movdqa(Xbyak::Xmm(int(x)), guest_xmm(x));
      xmm_loaded_ = xmm_dirty_ = xmm;
      L(loop_head_);
    }
    uint64_t last_pc = ~uint64_t(0);
    for (uint32_t i = 0; i < b_.insts.size(); ++i) {
      const ir::Inst& in = b_.insts[i];
      if (in.dead || folded_[i] || hoisted_[i]) continue;  // folded into users, or loaded before the loop
      if (in.guest_pc != last_pc) {
        out_.pc_map.emplace_back(uint32_t(getSize()), in.guest_pc);
        last_pc = in.guest_pc;
      }
      emit(i, in);
      release_dying(i);
    }
    terminal();
    out_of_line();
  }

  bool self_loop() const { return self_loop_; }

  // ---- side exits (superblocks): a jcc inside the block jumps out of line, where the dirty
  // guest state of that point is written back and a chainable exit leads to its target ----
  void find_exit_conditions() {
    exit_cond_.assign(b_.insts.size(), 0);
    fused_exit_cond_.assign(b_.insts.size(), 0);
    std::vector<uint32_t> uses(b_.insts.size(), 0);
    for (const ir::Inst& in : b_.insts)
      if (!in.dead)
        for (int a = 0; a < in.nargs; ++a)
          if (!in.args[a].is_imm) ++uses[in.args[a].v];
    if (b_.term.cond.valid()) ++uses[b_.term.cond.id];
    for (const ir::Inst& in : b_.insts) {
      if (in.dead || in.op != Opcode::ExitIf) continue;
      uint32_t c = uint32_t(in.args[0].v);
      if (b_.insts[c].op == Opcode::TestCond && uses[c] == 1 && !b_.insts[c].args[0].is_imm)
        exit_cond_[c] = 1;
    }
  }
  void side_exit(uint32_t i, const ir::Inst& in) {
    uint32_t c = uint32_t(in.args[0].v);
    Xbyak::Label& l = side_exit_labels_.emplace_back();
    if (fused_exit_cond_[c]) {
      const ir::Inst& tc = b_.insts[c];
      emit_flags_recipe(*this, recipe(tc.args[0].v));
      emit_jcc(*this, uint8_t(tc.args[1].v), l);
    } else {
      test(val(c).cvt32(), val(c).cvt32());
      jnz(l, T_NEAR);
    }
    // The instructions the entry counted that this exit skips (fallbacks count themselves).
    uint64_t skipped = b_.guest_insns - in.args[2].v;
    for (uint32_t k = i + 1; k < b_.insts.size(); ++k)
      if (!b_.insts[k].dead && (b_.insts[k].op == Opcode::Interpret || b_.insts[k].op == Opcode::RepString)) --skipped;
    side_exits_.push_back({snapshot(), in.args[1].v, skipped});
  }
  // Writes a side exit's dirty state back, with its flags left lazy in CpuState as at a
  // block's end (the next block usually overwrites them).
  void write_back_for_exit(const SyncRecord& s) {
    if (s.flags_reg >= 0 || !store_flags_lazily(s.flags_recipe, s.flags_mask, s.base_recipe))
      return write_back(s);
    SyncRecord rest = s;  // everything but the flags
    rest.flags_recipe = {};
    rest.base_recipe = {};
    write_back(rest);
  }

  Reg64 free_register() const {
    for (int r : kPool)
      if (!(used_ & (1u << r))) return Reg64(r);
    throw std::runtime_error("jit backend: no free register");
  }

  // An exit back to the block's own start, and nothing that reads or writes guest registers
  // in CpuState behind the block's back (interpreter fallbacks, rep string helpers).
  static bool loops_to_itself(const ir::Block& b) {
    const ir::Terminal& t = b.term;
    bool self = (t.kind == ir::Terminal::Kind::Jump && t.target == b.guest_pc) ||
                (t.kind == ir::Terminal::Kind::Branch && (t.target == b.guest_pc || t.fallthrough == b.guest_pc));
    if (!self) return false;
    for (const ir::Inst& in : b.insts)
      if (!in.dead && (in.op == Opcode::Interpret || in.op == Opcode::RepString)) return false;
    return true;
  }

 private:
  // ---- a branch on the flags the block was entered with (`test esi, esi; jne` in one block,
  // then `jg` in the next): the previous block left them lazy in CpuState, usually the same
  // operation every time. The engine passes the lazy word it saw when that block exited; the
  // branch then re-runs that operation from CpuState's operands (compare + jcc) when the word
  // matches, instead of merging them into rflags through settle_flags. ----
  void find_branch_on_entry_flags(uint16_t hint) {
    const ir::Terminal& t = b_.term;
    if (hint == 0 || (hint >> 8) != 0 || hint > kLazyFlagsCodes) return;
    if (t.kind != ir::Terminal::Kind::Branch || !t.cond.valid()) return;
    const ir::Inst& c = b_.insts[t.cond.id];
    if (c.op != Opcode::TestCond || c.args[0].is_imm) return;
    uint32_t g = uint32_t(c.args[0].v);
    if (b_.insts[g].op != Opcode::GetFlags) return;
    // Nothing after the GetFlags may change the flags, and the two are only the branch's.
    for (uint32_t i = g + 1; i < b_.insts.size(); ++i) {
      const ir::Inst& in = b_.insts[i];
      if (in.dead) continue;
      if (in.op == Opcode::SetFlags || in.op == Opcode::Interpret || in.op == Opcode::RepString) return;
    }
    for (uint32_t i = 0; i < b_.insts.size(); ++i) {
      const ir::Inst& in = b_.insts[i];
      if (in.dead || i == t.cond.id) continue;
      for (int a = 0; a < in.nargs; ++a)
        if (!in.args[a].is_imm && (in.args[a].v == g || in.args[a].v == t.cond.id)) return;
    }
    entry_flags_hint_ = hint;
  }
  // The Branch terminal for it (every register is free: the guest state is written back).
  void branch_on_entry_flags(Xbyak::Label& not_taken) {
    const uint8_t cc = uint8_t(b_.insts[b_.term.cond.id].args[1].v);
    const unsigned k = entry_flags_hint_ - 1u, size = 1u << (k % 4);
    Xbyak::Label slow, taken;
    cmp(word[rbx + kOffLazyOp], entry_flags_hint_);
    jne(slow, T_NEAR);
    mov(rax, qword[rbx + kOffLazyA]);
    mov(rcx, qword[rbx + kOffLazyB]);
    switch (FlagsRecipe::Op(FlagsRecipe::Add + k / 4)) {
      case FlagsRecipe::Add: add(sized(rax, size), sized(rcx, size)); break;
      case FlagsRecipe::Sub: cmp(sized(rax, size), sized(rcx, size)); break;
      default: test(sized(rax, size), sized(rax, size)); break;
    }
    emit_jcc(*this, cc ^ 1, not_taken);
    jmp(taken, T_NEAR);
    L(slow);
    call(rt_.settle_flags);
    mov(rax, qword[rbx + kOffFlags]);
    emit_test_cond(*this, rcx, rax, cc);
    test(rcx, rcx);
    jz(not_taken, T_NEAR);
    L(taken);
  }

  void count_insns() {
    uint32_t fallbacks = 0;
    for (const ir::Inst& in : b_.insts)
      if (!in.dead && (in.op == Opcode::Interpret || in.op == Opcode::RepString)) ++fallbacks;
    if (rt_.count_insns && b_.guest_insns > fallbacks) add(qword[rbx + kOffInsnCount], b_.guest_insns - fallbacks);
  }

  // ---- loops in place: a block that exits to its own start jumps back to loop_head_, past
  // the loads of the guest registers it reads (each read's value keeps its host register for
  // the whole block). Those registers are dirty at loop_head_: at the back edge each one's
  // current value moves into its loop register, not to CpuState. Other dirty registers and
  // the flags are written back, as at any exit. ----
  // The first read of each guest register, when nothing in the block wrote it before.
  void hoist_entry_reads() {
    uint16_t written = 0, read = 0;
    for (uint32_t i = 0; i < b_.insts.size(); ++i) {
      const ir::Inst& in = b_.insts[i];
      if (in.dead) continue;
      unsigned r = unsigned(in.args[0].v & 15);
      if (in.op == Opcode::SetGpr) written |= uint16_t(1u << r);
      if (in.op == Opcode::GetGpr && !((written | read) & (1u << r))) {
        hoisted_[i] = 1;
        read |= uint16_t(1u << r);
      }
    }
  }
  // The guest XMM registers the block's SSE operations name (read or written).
  uint16_t xmm_regs_used() const {
    uint16_t m = 0;
    auto add = [&](uint64_t r) { m |= uint16_t(1u << (r & 15)); };
    for (const ir::Inst& in : b_.insts) {
      if (in.dead) continue;
      switch (in.op) {
        case Opcode::SseRR:
          add(in.args[1].v);
          if (unpack(in.args[0].v).gpr_size != 0xFF) add(in.args[2].v);  // (not the immediate form)
          break;
        case Opcode::SseFlagsRR: add(in.args[1].v); add(in.args[2].v); break;
        case Opcode::SseRM: case Opcode::SseStore: case Opcode::SseRG: case Opcode::SseToGpr:
        case Opcode::SseFlagsRM:
          add(in.args[1].v);
          break;
        default: break;
      }
    }
    return m;
  }
  void back_edge() {
    // Register moves (a parallel copy: a value may be another loop register's), then the
    // registers written with a constant or spilled: from CpuState.
    std::vector<std::pair<int, int>> moves;  // (destination, source)
    std::vector<unsigned> reloads;
    for (unsigned r = 0; r < 16; ++r) {
      if (loop_reg_[r] < 0) continue;
      if (dirty_gpr_[r] != kNone) {
        int src = reg_of_[dirty_gpr_[r]];
        if (src != loop_reg_[r]) moves.emplace_back(loop_reg_[r], src);
      } else if (written_ & (1u << r)) {
        reloads.push_back(r);
      }
    }
    while (!moves.empty()) {
      bool progress = false;
      for (size_t k = 0; k < moves.size(); ++k) {
        int dst = moves[k].first;
        bool read_later = false;
        for (size_t m = 0; m < moves.size(); ++m)
          if (m != k && moves[m].second == dst) read_later = true;
        if (read_later) continue;
        mov(Reg64(dst), Reg64(moves[k].second));
        moves.erase(moves.begin() + long(k));
        progress = true;
        break;
      }
      if (progress) continue;
      // A cycle: park one destination's current value in r11.
      int dst = moves.front().first;
      mov(r11, Reg64(dst));
      for (auto& m : moves)
        if (m.second == dst) m.second = r11.getIdx();
    }
    for (unsigned r : reloads) mov(Reg64(loop_reg_[r]), qword[rbx + kOffGpr + 8 * int(r)]);
    count_insns();
    cmp(dword[rbx + kOffExitRequest], 0);
    jne(loop_exit_request_, T_NEAR);
    jmp(loop_head_, T_NEAR);
  }
  uint16_t loop_regs_mask() const {
    uint16_t m = 0;
    for (unsigned r = 0; r < 16; ++r)
      if (loop_reg_[r] >= 0) m |= uint16_t(1u << r);
    return m;
  }
  void exit_to(uint64_t pc) {
    if (self_loop_ && pc == b_.guest_pc) return back_edge();
    if (self_loop_) {  // leaving the loop: its registers' current values go home
      for (unsigned r = 0; r < 16; ++r)
        if (loop_reg_[r] >= 0 && dirty_gpr_[r] != kNone) mov(qword[rbx + kOffGpr + 8 * int(r)], val(dirty_gpr_[r]));
      write_back_xmm();
    }
    chainable_exit(pc);
  }

  // ---- register allocation: linear scan over the block's SSA values ----
  void compute_last_uses() {
    uint32_t end = uint32_t(b_.insts.size());
    for (uint32_t i = 0; i < b_.insts.size(); ++i) {
      const ir::Inst& in = b_.insts[i];
      if (in.dead || folded_[i]) continue;
      for (int a = 0; a < in.nargs; ++a) {
        if (in.args[a].is_imm) continue;
        uint64_t v = in.args[a].v;
        last_use_[v] = i;
        // A folded shift's operand is read by the instruction it was folded into.
        if (folded_[v] && b_.insts[v].op == Opcode::Shl) last_use_[b_.insts[v].args[0].v] = i;
        // Flags not computed until a reader needs them: their operands live until then.
        for_flags_inputs(v, [&](uint64_t x) { last_use_[x] = i; });
      }
    }
    if (b_.term.cond.valid()) last_use_[b_.term.cond.id] = end;
    if (fused_branch_) {
      uint64_t f = b_.insts[b_.term.cond.id].args[0].v;
      last_use_[f] = end;
      for_flags_inputs(f, [&](uint64_t x) { last_use_[x] = end; });
    }
    if (b_.term.dest.valid()) last_use_[b_.term.dest.id] = end;
    for (uint32_t i = 0; i < end; ++i)
      if (hoisted_[i]) last_use_[i] = end;  // the loop register, reserved to the back edge
    // A side exit's condition re-run from lazy flags at the ExitIf: their operands live to it.
    for (uint32_t i = 0; i < end; ++i) {
      const ir::Inst& in = b_.insts[i];
      if (in.dead || in.op != Opcode::ExitIf || !exit_cond_[in.args[0].v]) continue;
      uint64_t f = b_.insts[in.args[0].v].args[0].v;
      last_use_[f] = std::max(last_use_[f], i);  // (a loop register lives to the end anyway)
      for_flags_inputs(f, [&](uint64_t x) { last_use_[x] = std::max(last_use_[x], i); });
    }
  }

  bool is_const(uint64_t id) const { return b_.insts[id].op == Opcode::Const; }
  uint64_t const_of(uint64_t id) const { return b_.insts[id].args[0].v; }
  static bool commutative(Opcode op) { return is_commutative(op); }
  static bool is32(Opcode op) { return is_32bit_form(op); }
  bool imm_arg(const ir::Inst& in, int k) const { return folded_[in.args[k].v] && is_const(in.args[k].v); }

  // The result's register: the register of an operand that dies here when the operation can
  // be done in place (two-address form), else a free one.
  Reg64 alloc_result(uint32_t i, const ir::Inst& in) {
    auto dying = [&](int k) {
      if (k >= in.nargs || in.args[k].is_imm || folded_[in.args[k].v]) return -1;
      uint32_t v = uint32_t(in.args[k].v);
      int r = reg_of_[v];
      return r >= 0 && owner_[r] == v && last_use_[v] == i && pins_[r] == 0 ? r : -1;
    };
    int r = -1;
    switch (in.op) {
      case Opcode::ZeroExt8: case Opcode::ZeroExt16: case Opcode::ZeroExt32: case Opcode::SignExt8:
      case Opcode::SignExt16: case Opcode::SignExt32: case Opcode::Sub: case Opcode::Sub32:
      case Opcode::Not: case Opcode::Neg: case Opcode::Not32: case Opcode::Neg32:
      case Opcode::Bswap32: case Opcode::Bswap64: case Opcode::Shl: case Opcode::Shr: case Opcode::Sar:
      case Opcode::MergeLow: case Opcode::MergeHigh8: case Opcode::TestCond: case Opcode::BoolToU64:
      case Opcode::Load8: case Opcode::Load16: case Opcode::Load32: case Opcode::Load64:
        r = dying(0);
        break;
      case Opcode::Shift: case Opcode::ShiftCl: r = dying(1); break;
      default:
        if (commutative(in.op)) r = dying(0) >= 0 ? dying(0) : dying(1);
        break;
    }
    if (r < 0) return alloc(i);
    reg_of_[i] = r;
    owner_[r] = i;
    return Reg64(r);
  }

  Reg64 val(uint64_t id) const {
    if (reg_of_[id] < 0) throw std::runtime_error("jit backend: value has no register");
    return Reg64(reg_of_[id]);
  }
  Reg64 alloc(uint32_t id, uint32_t now = kNone) {
    if (now == kNone) now = id;
    for (int attempt = 0; attempt < 2; ++attempt) {
      for (int r : kPool)
        if (!(used_ & (1u << r))) {
          used_ |= 1u << r;
          reg_of_[id] = r;
          owner_[r] = id;
          return Reg64(r);
        }
      // Out of registers: write dirty guest registers whose values are otherwise dead back to
      // CpuState (their home), which frees their host registers.
      spill_dirty(now);
    }
    throw std::runtime_error("jit backend: out of registers");
  }
  // Frees the register of value v if nothing needs it any more: its last use is past (`now`)
  // and no dirty guest register or flags still live in it.
  // Only the value that owns the register can free it: a value whose register was reused
  // (after its last use) must not free the new owner's.
  void maybe_free(uint32_t v, uint32_t now) {
    int r = reg_of_[v];
    if (r >= 0 && owner_[r] == v && last_use_[v] <= now && pins_[r] == 0) used_ &= ~(1u << r);
  }
  void release_dying(uint32_t i) {
    const ir::Inst& in = b_.insts[i];
    for (int a = 0; a < in.nargs; ++a) {
      if (in.args[a].is_imm) continue;
      uint64_t v = in.args[a].v;
      if (folded_[v] && b_.insts[v].op == Opcode::Shl) v = b_.insts[v].args[0].v;
      if (last_use_[v] == i) maybe_free(uint32_t(v), i);
      for_flags_inputs(v, [&](uint64_t x) {
        if (last_use_[x] == i) maybe_free(uint32_t(x), i);
      });
    }
    // A value nothing uses (e.g. a load kept for its fault) frees its register at once.
    if (last_use_[i] <= i) maybe_free(i, i);
  }

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
  bool lazy(uint64_t f) const { return recomputable(b_.insts[f].op) && reg_of_[f] < 0; }
  template <class F>
  void for_flags_inputs(uint64_t f, F fn) const {
    const ir::Inst& in = b_.insts[f];
    if (!recomputable(in.op)) return;
    int n = in.op == Opcode::FlagsAdd || in.op == Opcode::FlagsSub ? 2 : 1;
    for (int k = 0; k < n; ++k)
      if (!folded_[in.args[k].v]) fn(in.args[k].v);
  }
  FlagsRecipe recipe(uint64_t f) const {
    const ir::Inst& in = b_.insts[f];
    FlagsRecipe r;
    switch (in.op) {
      case Opcode::FlagsAdd: r.op = FlagsRecipe::Add; break;
      case Opcode::FlagsSub: r.op = FlagsRecipe::Sub; break;
      case Opcode::FlagsLogic: r.op = FlagsRecipe::Logic; break;
      case Opcode::FlagsInc: r.op = FlagsRecipe::Inc; break;
      default: r.op = FlagsRecipe::Dec; break;
    }
    bool two = r.op == FlagsRecipe::Add || r.op == FlagsRecipe::Sub;
    r.size = uint8_t(in.args[two ? 2 : 1].v);
    r.a = int8_t(val(in.args[0].v).getIdx());
    if (two && imm_arg(in, 1)) r.imm = const_of(in.args[1].v);
    else if (two) r.b = int8_t(val(in.args[1].v).getIdx());
    return r;
  }
  // r11 = the flags value f (computed now if it is lazy).
  void flags_to_r11(uint64_t f) {
    if (lazy(f)) {
      emit_flags_recipe(*this, recipe(f));
      pushfq();
      pop(r11);
    } else {
      mov(r11, val(f));
    }
  }
  void pin_flags(uint32_t f) {
    if (lazy(f)) for_flags_inputs(f, [&](uint64_t x) { pin(uint32_t(x)); });
    else pin(f);
  }
  void unpin_flags(uint32_t f, uint32_t now) {
    if (lazy(f)) for_flags_inputs(f, [&](uint64_t x) { unpin(uint32_t(x), now); });
    else unpin(f, now);
  }
  // Gives a lazy flags value a register (for a reader that is not TestCond or SetFlags).
  void materialize(uint32_t f, uint32_t now) {
    FlagsRecipe r = recipe(f);
    std::vector<uint32_t> inputs;
    for_flags_inputs(f, [&](uint64_t x) { inputs.push_back(uint32_t(x)); });
    Reg64 d = alloc(f, now);
    emit_flags_recipe(*this, r);
    capture_flags(d);
    if (dirty_flags_ == f || base_flags_ == f) {  // the flags now live in d, not in the operands
      pin(f);
      for (uint32_t x : inputs) unpin(x, now);
    }
    if (base_flags_ == f) flush_base_flags(now);  // (the base layer is only ever kept lazy)
  }

  void store_flags(uint32_t f, uint64_t mask) {
    bool all = (mask & flag::ARITH) == flag::ARITH;
    if (!all) settle_cpu_flags();  // the bits kept must be the lazy ones' results
    flags_to_r11(f);
    and_(r11, uint32_t(mask));
    and_(qword[rbx + kOffFlags], int32_t(~uint32_t(mask)));
    or_(qword[rbx + kOffFlags], r11);
    if (all && cpu_flags_pending_) {  // overwritten: the older lazy flags are dead
      mov(word[rbx + kOffLazyOp], 0);     // (both layers)
      cpu_flags_pending_ = false;
    }
  }
  // The base layer (see base_flags_) to CpuState::rflags.
  void flush_base_flags(uint32_t now) {
    store_flags(base_flags_, flag::ARITH);
    unpin_flags(base_flags_, now);
    base_flags_ = kNone;
  }
  // ---- flags left lazy in CpuState by an earlier block (CpuState::lazy_flags_op): merged
  // into rflags before this block reads rflags or keeps some of its bits ----
  void settle_cpu_flags() {
    if (!cpu_flags_pending_) return;
    Xbyak::Label done;
    cmp(word[rbx + kOffLazyOp], 0);  // either layer
    je(done);
    call(rt_.settle_flags);
    L(done);
    cpu_flags_pending_ = false;
  }
  // At the block's exit: dirty lazy flags of an add/sub/logic operation go to CpuState as
  // the operation and its operands instead of being computed (the next block usually
  // overwrites them). So do those of an inc/dec (CpuState's second layer), with the
  // operation under it that supplies CF when it is this block's (base_flags_); otherwise CF
  // is already CpuState's.
  bool leave_flags_lazy() {
    if (dirty_flags_ == kNone || !lazy(dirty_flags_)) return false;
    FlagsRecipe base = base_flags_ != kNone ? recipe(base_flags_) : FlagsRecipe{};
    if (!store_flags_lazily(recipe(dirty_flags_), dirty_flags_mask_, base)) return false;
    dirty_flags_ = base_flags_ = kNone;
    return true;
  }
  // Stores uncomputed flags (`r` over bits `mask`; `base`, if any, the operation under an
  // inc/dec that supplies CF) as CpuState's lazy layers. False if they do not fit them.
  bool store_flags_lazily(const FlagsRecipe& r, uint64_t mask, const FlagsRecipe& base) {
    const bool has_base = base.op != FlagsRecipe::None;
    if (leaves_lazy_flags(r.op) && mask == flag::ARITH && !has_base) {
      mov(word[rbx + kOffLazyOp], lazy_flags_code(r.op, r.size));  // (no inc/dec layer)
      store_lazy_operands(r);
      return true;
    }
    if (!is_inc_dec(r.op) || mask != kIncDecFlags) return false;
    uint8_t code = lazy_incdec_code(r.op, r.size);
    if (has_base) {
      mov(word[rbx + kOffLazyOp], lazy_flags_code(base.op, base.size) | code << 8);
      store_lazy_operands(base);
    } else {
      mov(byte[rbx + kOffIncDecOp], code);  // (CF stays CpuState's)
    }
    mov(qword[rbx + kOffIncDecA], Reg64(r.a));
    return true;
  }
  void store_lazy_operands(const FlagsRecipe& r) {
    mov(qword[rbx + kOffLazyA], Reg64(r.a));
    if (r.op != FlagsRecipe::Logic) {
      if (r.b >= 0) mov(qword[rbx + kOffLazyB], Reg64(r.b));
      else mov(qword[rbx + kOffLazyB], sized_imm(r.imm, r.size));
    }
  }
  // Flags of an inc/dec over the flags of an add/sub/logic operation keep the older ones
  // uncomputed as the base layer (it supplies CF) instead of computing that CF at once.
  bool can_be_base(uint32_t older, uint64_t older_mask) const {
    return older_mask == flag::ARITH && lazy(older) && leaves_lazy_flags(recipe(older).op);
  }
  void set_flags_lazy(uint64_t mask, uint32_t f, uint32_t now) {
    pin_flags(f);  // first: the old value may share operands with it
    const bool inc_dec = mask == kIncDecFlags && lazy(f) && is_inc_dec(recipe(f).op);
    if (dirty_flags_ != kNone) {
      if (inc_dec && base_flags_ == kNone && can_be_base(dirty_flags_, dirty_flags_mask_)) {
        base_flags_ = dirty_flags_;  // (stays pinned)
        dirty_flags_ = f;
        dirty_flags_mask_ = mask;
        return;
      }
      // Bits of the older value this one does not cover must reach CpuState first.
      if (dirty_flags_mask_ & ~mask) {
        if (base_flags_ != kNone) flush_base_flags(now);
        store_flags(dirty_flags_, dirty_flags_mask_ & ~mask);
      }
      unpin_flags(dirty_flags_, now);
    }
    if (base_flags_ != kNone) {
      if ((mask & flag::ARITH) == flag::ARITH) {  // overwritten
        unpin_flags(base_flags_, now);
        base_flags_ = kNone;
      } else if (!inc_dec) {
        flush_base_flags(now);
      }
    }
    dirty_flags_ = f;
    dirty_flags_mask_ = mask;
  }
  // Writes every dirty guest register and the flags to CpuState (before leaving the block,
  // before the interpreter runs, and in out-of-line fault paths).
  void write_back_all(uint32_t now, bool release = true, uint16_t keep = 0, bool keep_xmm = false) {
    for (unsigned r = 0; r < 16; ++r)
      if (dirty_gpr_[r] != kNone && !(keep & (1u << r))) {
        mov(qword[rbx + kOffGpr + 8 * int(r)], val(dirty_gpr_[r]));
        if (release) {
          unpin(dirty_gpr_[r], now);
          dirty_gpr_[r] = kNone;
        }
      }
    if (base_flags_ != kNone) {
      store_flags(base_flags_, flag::ARITH);
      if (release) {
        unpin_flags(base_flags_, now);
        base_flags_ = kNone;
      }
    }
    if (dirty_flags_ != kNone) {
      store_flags(dirty_flags_, dirty_flags_mask_);
      if (release) {
        unpin_flags(dirty_flags_, now);
        dirty_flags_ = kNone;
      }
    }
    if (!keep_xmm) write_back_xmm();
    if (release) xmm_dirty_ = 0;
  }
  void write_back_xmm() {
    for (unsigned x = 0; x < 16; ++x)
      if (xmm_dirty_ & (1u << x)) movdqa(guest_xmm(x), Xbyak::Xmm(int(x)));
  }
  // Only values whose last use is strictly in the past: the instruction being emitted still
  // reads its own arguments.
  void spill_dirty(uint32_t now) {
    for (unsigned r = 0; r < 16; ++r) {
      uint32_t v = dirty_gpr_[r];
      if (v != kNone && last_use_[v] < now && pins_[reg_of_[v]] == 1) {
        mov(qword[rbx + kOffGpr + 8 * int(r)], val(v));
        dirty_gpr_[r] = kNone;
        unpin(v, now);
      }
    }
  }
  SyncRecord snapshot() {
    SyncRecord s{uint32_t(getSize()), {}, -1, 0};
    for (unsigned r = 0; r < 16; ++r)
      if (dirty_gpr_[r] != kNone) s.gprs.emplace_back(uint8_t(r), uint8_t(reg_of_[dirty_gpr_[r]]));
    if (dirty_flags_ != kNone) {
      if (lazy(dirty_flags_)) s.flags_recipe = recipe(dirty_flags_);
      else s.flags_reg = int8_t(reg_of_[dirty_flags_]);
      s.flags_mask = dirty_flags_mask_;
    }
    if (base_flags_ != kNone) s.base_recipe = recipe(base_flags_);
    s.xmm_dirty = xmm_dirty_;
    return s;
  }

  // ---- instructions ----
  void emit(uint32_t i, const ir::Inst& in) {
    if (in.op == Opcode::TestCond && exit_cond_[i] && lazy(in.args[0].v)) {
      fused_exit_cond_[i] = 1;  // the ExitIf re-runs the flags' operation and jumps on them
      return;
    }
    auto A = [&](int k) { return val(in.args[k].v); };
    auto imm = [&](int k) { return in.args[k].v; };
    if (recomputable(in.op)) return;  // computed where it is read (lazy flags)
    if (in.op != Opcode::TestCond && in.op != Opcode::SetFlags)
      for (int k = 0; k < in.nargs; ++k)
        if (!in.args[k].is_imm && lazy(in.args[k].v) && !(k == 2 && reads_carry_only(in.op)))
          materialize(uint32_t(in.args[k].v), i);
    Reg64 d = ir::info(in.op).result == ir::Type::Void ? r11 : alloc_result(i, in);
    switch (in.op) {
      case Opcode::GetGpr:
        if (uint32_t v = dirty_gpr_[imm(0) & 15]; v != kNone) mov(d, val(v));
        else mov(d, qword[rbx + kOffGpr + 8 * int(imm(0))]);
        break;
      case Opcode::SetGpr:
        written_ |= uint16_t(1u << (imm(0) & 15));
        if (imm_arg(in, 1)) {  // a constant goes straight home
          unsigned r = unsigned(imm(0) & 15);
          mov(qword[rbx + kOffGpr + 8 * int(r)], int32_t(const_of(in.args[1].v)));
          if (dirty_gpr_[r] != kNone) unpin(std::exchange(dirty_gpr_[r], kNone), i);
        } else {
          set_gpr_lazy(unsigned(imm(0) & 15), uint32_t(in.args[1].v), i);
        }
        break;
      case Opcode::GetFlags:
        // (dirty flags covering all arithmetic flags replace whatever lazy ones CpuState has)
        if (base_flags_ == kNone && (dirty_flags_ == kNone || (dirty_flags_mask_ & flag::ARITH) != flag::ARITH))
          settle_cpu_flags();
        mov(d, qword[rbx + kOffFlags]);
        // Merge the bits not yet written back: the base layer's, then the dirty ones'.
        if (base_flags_ != kNone) merge_flags_into(d, base_flags_, flag::ARITH);
        if (dirty_flags_ != kNone) merge_flags_into(d, dirty_flags_, dirty_flags_mask_);
        break;
      case Opcode::SetFlags: set_flags_lazy(imm(0), uint32_t(in.args[1].v), i); break;
      case Opcode::GetSegBase:
        mov(d, qword[rbx + int(offsetof(CpuState, seg) + imm(0) * sizeof(Segment) + offsetof(Segment, base))]);
        break;
      case Opcode::Const: mov(d, imm(0)); break;
      case Opcode::ZeroExt8: movzx(d.cvt32(), A(0).cvt8()); break;
      case Opcode::ZeroExt16: movzx(d.cvt32(), A(0).cvt16()); break;
      case Opcode::ZeroExt32: mov(d.cvt32(), A(0).cvt32()); break;
      case Opcode::SignExt8: movsx(d, A(0).cvt8()); break;
      case Opcode::SignExt16: movsx(d, A(0).cvt16()); break;
      case Opcode::SignExt32: movsxd(d, A(0).cvt32()); break;
      case Opcode::MergeLow:
        if (d.getIdx() == A(1).getIdx()) {  // (cannot happen: d is A(0)'s or a free register)
          throw std::runtime_error("jit backend: MergeLow into its second operand");
        }
        copy(d, A(0));
        if (imm(2) == 1) mov(d.cvt8(), A(1).cvt8());
        else mov(d.cvt16(), A(1).cvt16());
        break;
      case Opcode::MergeHigh8:
        movzx(r11d, A(1).cvt8());
        shl(r11d, 8);
        if (d.getIdx() != A(0).getIdx()) mov(d, A(0));
        and_(d, int32_t(0xFFFF00FF));
        or_(d, r11);
        break;
      case Opcode::Add: case Opcode::Add32: add_op(in, d); break;
      case Opcode::Sub: case Opcode::Sub32: case Opcode::And: case Opcode::And32: case Opcode::Or:
      case Opcode::Or32: case Opcode::Xor: case Opcode::Xor32: case Opcode::Mul: case Opcode::Mul32:
        binary(in, d);
        break;
      case Opcode::Not: copy(d, A(0)); not_(d); break;
      case Opcode::Not32: copy(d.cvt32(), A(0).cvt32()); not_(d.cvt32()); break;
      case Opcode::Neg: copy(d, A(0)); neg(d); break;
      case Opcode::Neg32: copy(d.cvt32(), A(0).cvt32()); neg(d.cvt32()); break;
      case Opcode::Bswap32: copy(d.cvt32(), A(0).cvt32()); bswap(d.cvt32()); break;
      case Opcode::Bswap64: copy(d, A(0)); bswap(d); break;
      case Opcode::Shl: case Opcode::Shr: case Opcode::Sar: shift(in, d); break;
      case Opcode::TestCond:
        if (lazy(in.args[0].v)) {  // the host operation sets the same flags: setcc directly
          emit_flags_recipe(*this, recipe(in.args[0].v));
          emit_setcc(*this, uint8_t(imm(1)), d.cvt8());
          movzx(d.cvt32(), d.cvt8());
        } else {
          emit_test_cond(*this, d, A(0), uint8_t(imm(1)));
        }
        break;
      case Opcode::Shift: copy(d, A(1)); emit_shift_imm(*this, imm(0), d); break;
      case Opcode::FlagsShift: mov(r11, A(1)); emit_shift_imm(*this, imm(0), r11); capture_flags(d); break;
      case Opcode::ShiftCl: emit_shift_cl(*this, imm(0), d, A(1), A(2)); break;
      case Opcode::FlagsShiftCl: emit_flags_shift_cl(*this, imm(0), d, A(1), A(2), A(3)); break;
      case Opcode::FlagsImul: mov(r11, A(0)); imul(sized(r11, imm(2)), sized(A(1), imm(2))); capture_flags(d); break;
      case Opcode::Adc: case Opcode::FlagsAdc: case Opcode::Sbb: case Opcode::FlagsSbb: {
        unsigned size = unsigned(imm(3));
        if (lazy(in.args[2].v)) {  // re-run the operation that set CF (r11 is free after it)
          emit_flags_recipe(*this, recipe(in.args[2].v));
          mov(r11, A(0));
        } else {
          mov(r11, A(0));
          bt(A(2), 0);  // the guest's CF into the host's
        }
        if (in.op == Opcode::Adc || in.op == Opcode::FlagsAdc) adc(sized(r11, size), sized(A(1), size));
        else sbb(sized(r11, size), sized(A(1), size));
        if (in.op == Opcode::Adc || in.op == Opcode::Sbb) mov(d, r11);
        else capture_flags(d);
        break;
      }
      case Opcode::BitOp: case Opcode::FlagsBitOp: emit_bit_op(*this, imm(0), d, A(1), A(2), in.op == Opcode::FlagsBitOp); break;
      case Opcode::ShiftDouble: case Opcode::FlagsShiftDouble: emit_shift_double(*this, imm(0), d, A(1), A(2), A(3), in.op == Opcode::FlagsShiftDouble); break;
      case Opcode::RotateCarry: case Opcode::FlagsRotateCarry: emit_rotate_carry(*this, imm(0), d, A(1), A(2), A(3), in.op == Opcode::FlagsRotateCarry); break;
      case Opcode::MulHigh: case Opcode::FlagsMulWide: emit_mul_wide(*this, imm(0), d, A(1), A(2), in.op == Opcode::FlagsMulWide); break;
      case Opcode::BoolToU64: copy(d, A(0)); break;  // (TestCond leaves 0 or 1 in 64 bits)
      case Opcode::Select:
        mov(r11, A(2));
        test(A(0), A(0));
        cmovnz(r11, A(1));
        mov(d, r11);
        break;
      case Opcode::Load8: guest_access(in, 0, false); movzx(d.cvt32(), byte[r15 + A(0)]); break;
      case Opcode::Load16: guest_access(in, 0, false); movzx(d.cvt32(), word[r15 + A(0)]); break;
      case Opcode::Load32: guest_access(in, 0, false); mov(d.cvt32(), dword[r15 + A(0)]); break;
      case Opcode::Load64: guest_access(in, 0, false); mov(d, qword[r15 + A(0)]); break;
      case Opcode::Store8: case Opcode::Store16: case Opcode::Store32: case Opcode::Store64: {
        static constexpr unsigned kBits[] = {8, 16, 32, 64};
        unsigned bits = kBits[unsigned(in.op) - unsigned(Opcode::Store8)];
        guest_access(in, 0, true);
        const Xbyak::AddressFrame& frame = bits == 8 ? byte : bits == 16 ? word : bits == 32 ? dword : qword;
        Xbyak::Address m = frame[r15 + A(0)];
        uint64_t c = imm_arg(in, 1) ? const_of(in.args[1].v) : 0;
        // (Xbyak wants a narrow immediate zero-extended, a 64-bit one sign-extended from 32)
        if (imm_arg(in, 1)) mov(m, bits == 64 ? c : c & ((uint64_t(1) << bits) - 1));
        else mov(m, sized(A(1), bits / 8));
        break;
      }
      // (guest_access leaves the sync record at the offset of the access just emitted)
      case Opcode::Interpret: call_helper(i, rt_.fallback_helper, fb_[in.args[0].v].get()); break;
      case Opcode::RepString: call_helper(i, rt_.rep_string_helper, fb_[in.args[0].v].get()); break;
      case Opcode::ExitIf: side_exit(i, in); break;
      case Opcode::Div: emit_div(*this, imm(0), d, A(1), A(2), A(3), interpreter_exit(in, imm(0) >> 16)); break;
      case Opcode::SseRR: case Opcode::SseRM: case Opcode::SseStore: case Opcode::SseRG:
      case Opcode::SseToGpr: case Opcode::SseToGprM: case Opcode::SseFlagsRR: case Opcode::SseFlagsRM:
        sse(in, d);
        break;
      default: throw std::runtime_error("jit backend: unsupported opcode");
    }
  }

  // Adc/Sbb read their flags operand's CF only: lazy flags are re-run into the host CF.
  static bool reads_carry_only(Opcode op) {
    return op == Opcode::Adc || op == Opcode::Sbb || op == Opcode::FlagsAdc || op == Opcode::FlagsSbb;
  }

  void copy(const Xbyak::Reg& d, const Xbyak::Reg& a) {
    if (d.getIdx() != a.getIdx()) mov(d, a);
  }

  // Add, with a constant or a folded scaled index as part of the address form.
  void add_op(const ir::Inst& in, const Reg64& d) {
    int disp = 0, base = -1, index = -1, scale = 1;
    for (int k = 0; k < 2; ++k) {
      uint64_t v = in.args[k].v;
      if (imm_arg(in, k)) {
        disp = int32_t(const_of(v));
      } else if (folded_[v]) {  // x << s
        index = val(b_.insts[v].args[0].v).getIdx();
        scale = 1 << const_of(b_.insts[v].args[1].v);
      } else if (base < 0) {
        base = val(v).getIdx();
      } else {
        index = val(v).getIdx();
      }
    }
    emit_add(*this, d, base, index, scale, disp, is32(in.op));
  }

  // The other two-operand operations; a constant operand is the immediate.
  void binary(const ir::Inst& in, const Reg64& d) {
    int ka = 0, kb = 1;
    if (commutative(in.op) && imm_arg(in, 0)) std::swap(ka, kb);
    if (imm_arg(in, kb))
      return emit_binary(*this, in.op, d, val(in.args[ka].v), -1, uint32_t(const_of(in.args[kb].v)));
    emit_binary(*this, in.op, d, val(in.args[ka].v), val(in.args[kb].v).getIdx(), 0);
  }

  void shift(const ir::Inst& in, const Reg64& d) {
    const ir::Inst& c = b_.insts[in.args[1].v];
    if (c.op != Opcode::Const) throw std::runtime_error("jit backend: variable shift count");
    uint8_t n = uint8_t(c.args[0].v);
    copy(d, val(in.args[0].v));
    if (n >= 64) {
      if (in.op == Opcode::Sar) sar(d, 63);
      else xor_(d.cvt32(), d.cvt32());
    } else if (n) {
      if (in.op == Opcode::Shl) shl(d, n);
      else if (in.op == Opcode::Shr) shr(d, n);
      else sar(d, n);
    }
  }

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
  // for 0 <= d2 - d1 < the guard past the window (GuestMemory::guard) minus the widest access:
  // base + d1 < limit (mod 2^64) puts base + d2 below limit + guard, without wrapping, where
  // the host faults (a guest fault at that address). So of movaps [rsi+0x10], [rsi+0x20],
  // [rsi+0x30] only the first is checked. The same address value is always covered.
  std::pair<uint32_t, int64_t> base_and_displacement(uint32_t v) const {
    const ir::Inst& d = b_.insts[v];
    if (d.op == Opcode::Add && !d.args[0].is_imm && !d.args[1].is_imm) {
      for (int k = 0; k < 2; ++k)
        if (is_const(d.args[k].v) && !is_const(d.args[1 - k].v))
          return {uint32_t(d.args[1 - k].v), int64_t(const_of(d.args[k].v))};
    }
    return {v, 0};
  }
  bool range_already_checked(uint32_t v) {
    auto [base, disp] = base_and_displacement(v);
    const uint64_t reach = rt_.mem->guard > 64 ? rt_.mem->guard - 64 : 0;
    for (auto [b, d] : checked_ranges_)
      if (b == base && disp >= d && uint64_t(disp - d) <= reach) return true;
    checked_ranges_.emplace_back(base, disp);
    return false;
  }
  // The access's address is its operand k (its register may already hold the result).
  void guest_access(const ir::Inst& in, int k, bool write) {
    const Reg64 addr = val(in.args[k].v);
    if (range_already_checked(uint32_t(in.args[k].v))) {
      out_.sync.push_back(snapshot());
      return;
    }
    cmp(addr, qword[rip + static_cast<const void*>(rt_.window_limit)]);
    Xbyak::Label& l = range_faults_.emplace_back();
    jae(l, T_NEAR);
    SyncRecord rec = snapshot();
    range_fault_info_.push_back({addr.getIdx(), in.guest_pc, write, rec, VEC_PF});
    out_.sync.push_back(std::move(rec));
  }

  // ---- SSE: guest XMM register n lives in host xmm n within a block ----
  // Loaded from CpuState at its first use in the block (unless the first use only writes it),
  // written back where guest state must be exact in CpuState: block exits, helper calls, and
  // the out-of-line fault paths and host faults through the sync records (xmm_dirty). Host
  // code outside translated blocks never expects anything in the XMM registers.
  Xbyak::Address guest_xmm(uint64_t r) { return xword[rbx + kOffXmm + 16 * int(r & 15)]; }
  // Memory operand checks: inside the window, and 16-byte aligned where the form demands it
  // (a misaligned legacy-SSE m128 is #GP(0), SDM Vol. 1, 11.6.7).
  Xbyak::Address guest_mem(const ir::Inst& in, int k, const SseBits& f, bool write) {
    const Reg64 addr = val(in.args[k].v);
    if (f.align) {
      test(addr.cvt8(), 15);
      Xbyak::Label& l = range_faults_.emplace_back();
      jnz(l, T_NEAR);
      range_fault_info_.push_back({addr.getIdx(), in.guest_pc, write, snapshot(), VEC_GP});
    }
    guest_access(in, k, write);
    return ptr[r15 + addr];
  }
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
  void sse(const ir::Inst& in, const Reg64& d) {
    SseBits f = unpack(in.args[0].v);
    bool imm_form = in.op == Opcode::SseRR && f.gpr_size == 0xFF;  // marked by the frontend
    auto fail = [] { throw std::runtime_error("jit backend: SSE form not emitted"); };
    auto dest = [&](bool from_memory) {
      if (!sse_writes_whole_destination(f.mnemonic, from_memory)) xmm_in(in.args[1].v);
      return xmm_out(in.args[1].v);
    };
    switch (in.op) {
      case Opcode::SseRR: {
        Xbyak::Xmm s = imm_form ? Xbyak::Xmm(0) : xmm_in(in.args[2].v);
        if (!emit_sse_op(*this, f.mnemonic, dest(false), s, f.imm8, imm_form)) fail();
        break;
      }
      case Opcode::SseRM: {
        Xbyak::Address m = guest_mem(in, 2, f, false);
        if (!emit_sse_op(*this, f.mnemonic, dest(true), m, f.imm8, false)) fail();
        break;
      }
      case Opcode::SseStore: {
        Xbyak::Xmm x = xmm_in(in.args[1].v);
        Xbyak::Address m = guest_mem(in, 2, f, true);
        if (!emit_sse_store(*this, f.mnemonic, m, x)) fail();
        break;
      }
      case Opcode::SseRG:
        if (!emit_sse_from_gpr(*this, f.mnemonic, dest(true), val(in.args[2].v), f.gpr_size)) fail();
        break;
      case Opcode::SseToGpr:
        if (!emit_sse_to_gpr(*this, f.mnemonic, d, f.gpr_size, xmm_in(in.args[1].v))) fail();
        break;
      case Opcode::SseToGprM: {
        Xbyak::Address m = guest_mem(in, 1, f, false);
        if (!emit_sse_to_gpr(*this, f.mnemonic, d, f.gpr_size, m)) fail();
        break;
      }
      case Opcode::SseFlagsRR:
        if (!emit_sse_op(*this, f.mnemonic, xmm_in(in.args[1].v), xmm_in(in.args[2].v), 0, false)) fail();
        capture_flags(d);
        break;
      case Opcode::SseFlagsRM: {
        Xbyak::Xmm a = xmm_in(in.args[1].v);
        Xbyak::Address m = guest_mem(in, 2, f, false);
        if (!emit_sse_op(*this, f.mnemonic, a, m, 0, false)) fail();
        capture_flags(d);
        break;
      }
      default: fail();
    }
  }

  // Calls helper(CpuState*, FallbackInsn*, const GuestMemory*) with the guest state in
  // CpuState; a nonzero return leaves the block with that exit code.
  void call_helper(uint32_t i, void* helper, FallbackInsn* f) {
    write_back_all(i);  // the helper reads and writes CpuState
    xmm_loaded_ = 0;    // and the host XMM registers are caller-saved: reload after it
    // Keep values that live past the call in caller-saved registers safe on the stack.
    std::vector<int> saved;
    for (int r : kPool)
      if ((used_ & (1u << r)) && caller_saved(r)) saved.push_back(r);
    for (int r : saved) push(Reg64(r));
    if (saved.size() & 1) sub(rsp, 8);
    mov(rdi, rbx);
    mov(rsi, uint64_t(f));
    mov(rdx, uint64_t(rt_.mem));
    mov(rax, uint64_t(helper));
    call(rax);
    // The result goes to r11 first: restoring the saved registers may overwrite rax.
    mov(r11d, eax);
    if (saved.size() & 1) add(rsp, 8);
    for (auto it = saved.rbegin(); it != saved.rend(); ++it) pop(Reg64(*it));
    test(r11d, r11d);
    jnz(leave_with_r11_, T_NEAR);
    cpu_flags_pending_ = false;  // (the helper settled them)
  }

  // The slow path of a translated instruction (Div): the guest state at the instruction goes
  // to CpuState, the interpreter runs it and the block is left with its exit code.
  Xbyak::Label& interpreter_exit(const ir::Inst& in, uint64_t fallback) {
    interpreter_exits_.push_back({snapshot(), fb_[fallback].get()});
    return interpreter_exit_labels_.emplace_back();
  }

  // ---- block ends ----
  void exit_with(uint32_t code) {
    mov(eax, code);
    jmp(rt_.exit_stub, T_NEAR);
  }
  void set_rip(uint64_t pc) {
    mov(r11, pc);
    mov(qword[rbx + kOffRip], r11);
  }
  // A chainable exit: a 5-byte jmp that leads to a link stub until the dispatcher patches it.
  void chainable_exit(uint64_t target) {
    auto slot = std::make_unique<ExitSlot>();
    slot->jmp = const_cast<uint8_t*>(getCurr());
    slot->target_pc = target;
    Xbyak::Label& stub = link_stubs_.emplace_back();
    jmp(stub, T_NEAR);
    link_slots_.push_back(slot.get());
    out_.exits.push_back(std::move(slot));
  }

  void terminal() {
    const ir::Terminal& t = b_.term;
    leave_flags_lazy();
    // (a loop in place writes its loop registers back only where it leaves)
    write_back_all(uint32_t(b_.insts.size()), false, loop_regs_mask(), self_loop_);
    switch (t.kind) {
      case ir::Terminal::Kind::Jump: exit_to(t.target); break;
      case ir::Terminal::Kind::Branch: {
        Xbyak::Label not_taken;
        if (entry_flags_hint_) {
          branch_on_entry_flags(not_taken);
        } else if (fused_branch_) {
          const ir::Inst& c = b_.insts[t.cond.id];
          uint64_t f = c.args[0].v;
          uint8_t cc = uint8_t(c.args[1].v);
          if (lazy(f)) {
            emit_flags_recipe(*this, recipe(f));
            emit_jcc(*this, cc ^ 1, not_taken);
          } else {  // (materialized for another reader) any register is free to clobber
            // here but, in a loop in place, the loop registers and the values moved into them
            Reg64 scratch = val(f).getIdx() == rax.getIdx() ? rcx : rax;
            if (self_loop_) scratch = free_register();
            emit_test_cond(*this, scratch, val(f), cc);
            test(scratch, scratch);
            jz(not_taken, T_NEAR);
          }
        } else {
          test(val(t.cond.id), val(t.cond.id));
          jz(not_taken, T_NEAR);
        }
        exit_to(t.target);
        L(not_taken);
        exit_to(t.fallthrough);
        break;
      }
      case ir::Terminal::Kind::Indirect: {
        Reg64 dest = val(t.dest.id);
        if (dest.getIdx() != rax.getIdx()) mov(rax, dest);
        if (rt_.use_jump_cache) {
          // The slot of CodeCache::jump_cache_fill: (pc ^ pc >> 12) mod size, 16 bytes each
          // (the low 12 bits need only the low 32 bits of pc). A hit goes straight to the
          // block: no translated code reads CpuState::rip, which only a miss needs.
          Xbyak::Label miss;
          mov(ecx, eax);
          shr(ecx, 12);
          xor_(ecx, eax);
          and_(ecx, uint32_t(CodeCache::kJumpCacheSize - 1));
          shl(ecx, 4);
          mov(rdx, uint64_t(rt_.jump_cache));
          cmp(qword[rdx + rcx], rax);
          jne(miss);
          jmp(qword[rdx + rcx + 8]);
          L(miss);
        }
        mov(qword[rbx + kOffRip], rax);
        exit_with(kExitDispatch);
        break;
      }
      case ir::Terminal::Kind::Syscall: set_rip(t.target); exit_with(kExitSyscall); break;
      case ir::Terminal::Kind::Exit: set_rip(t.target); exit_with(kExitDispatch); break;
      case ir::Terminal::Kind::Return: exit_with(kExitDispatch); break;
      case ir::Terminal::Kind::None: throw std::runtime_error("jit backend: block without terminal");
    }
  }

  void out_of_line() {
    if (self_loop_) {  // an exit request seen at the back edge: the values are in the loop registers
      L(loop_exit_request_);
      for (unsigned r = 0; r < 16; ++r)
        if (loop_reg_[r] >= 0) mov(qword[rbx + kOffGpr + 8 * int(r)], Reg64(loop_reg_[r]));
      write_back_xmm();  // (all the block's XMM registers are dirty at the back edge)
    }
    L(exit_request_);
    set_rip(b_.guest_pc);
    exit_with(kExitRequest);
    L(leave_with_r11_);
    mov(eax, r11d);
    jmp(rt_.exit_stub, T_NEAR);
    for (size_t k = 0; k < side_exits_.size(); ++k) {
      L(side_exit_labels_[k]);
      write_back_for_exit(side_exits_[k].state);
      if (rt_.count_insns && side_exits_[k].skipped)  // (the entry counted the whole block)
        sub(qword[rbx + kOffInsnCount], int32_t(side_exits_[k].skipped));
      chainable_exit(side_exits_[k].target);
    }
    for (size_t k = 0; k < link_stubs_.size(); ++k) {
      L(link_stubs_[k]);
      link_slots_[k]->unlinked = const_cast<uint8_t*>(getCurr());
      set_rip(link_slots_[k]->target_pc);
      mov(rdx, uint64_t(link_slots_[k]));
      exit_with(kExitLink);
    }
    for (size_t k = 0; k < interpreter_exits_.size(); ++k) {
      L(interpreter_exit_labels_[k]);
      write_back(interpreter_exits_[k].state);
      mov(rdi, rbx);
      mov(rsi, uint64_t(interpreter_exits_[k].insn));
      mov(rax, uint64_t(rt_.fallback_helper));
      call(rax);
      jmp(rt_.exit_stub, T_NEAR);
    }
    for (size_t k = 0; k < range_faults_.size(); ++k) {
      L(range_faults_[k]);
      const auto& f = range_fault_info_[k];
      write_back(f.state);
      mov(rsi, Reg64(f.addr_reg));
      mov(rdi, rbx);
      mov(rdx, f.pc);
      mov(ecx, uint32_t(f.write) | (uint32_t(f.vector) << 8));
      mov(rax, uint64_t(rt_.range_fault_helper));
      call(rax);
      exit_with(kExitFault);
    }
  }

  void merge_flags_into(const Reg64& d, uint32_t f, uint64_t mask) {
    flags_to_r11(f);
    and_(r11, uint32_t(mask));
    and_(d, int32_t(~uint32_t(mask)));
    or_(d, r11);
  }

  // Writes the dirty guest state of a sync record to CpuState.
  void write_back(const SyncRecord& state) {
    for (auto [guest, host] : state.gprs) mov(qword[rbx + kOffGpr + 8 * int(guest)], Reg64(host));
    for (unsigned x = 0; x < 16; ++x)
      if (state.xmm_dirty & (1u << x)) movdqa(guest_xmm(x), Xbyak::Xmm(int(x)));
    if (state.flags_reg >= 0 || state.flags_recipe.op != FlagsRecipe::None) {
      call(rt_.settle_flags);  // (rflags keeps the bits outside the mask)
      if (state.base_recipe.op != FlagsRecipe::None) {
        emit_flags_recipe(*this, state.base_recipe);
        pushfq();
        pop(r11);
        and_(r11, uint32_t(flag::ARITH));
        and_(qword[rbx + kOffFlags], int32_t(~uint32_t(flag::ARITH)));
        or_(qword[rbx + kOffFlags], r11);
      }
      if (state.flags_reg >= 0) {
        mov(r11, Reg64(state.flags_reg));
      } else {
        emit_flags_recipe(*this, state.flags_recipe);
        pushfq();
        pop(r11);
      }
      and_(r11, uint32_t(state.flags_mask));
      and_(qword[rbx + kOffFlags], int32_t(~uint32_t(state.flags_mask)));
      or_(qword[rbx + kOffFlags], r11);
    }
  }

  struct SideExit {
    SyncRecord state;
    uint64_t target;
    uint64_t skipped;  // guest instructions of the block after the exit
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
  };

  const ir::Block& b_;
  std::vector<std::unique_ptr<FallbackInsn>>& fb_;
  const Runtime& rt_;
  TranslatedBlock& out_;
  std::vector<int> reg_of_;
  std::vector<uint32_t> last_use_;
  std::vector<uint8_t> folded_;  // constants taken as immediates, shifts taken as lea scales
  bool fused_branch_ = false;    // the Branch's TestCond is folded into a host jcc
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
  std::vector<uint8_t> hoisted_;  // GetGpr loaded before loop_head_
  int loop_reg_[16] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
  uint16_t written_ = 0;  // guest registers the block has set so far
  Xbyak::Label loop_head_, loop_exit_request_;
  std::vector<uint8_t> exit_cond_;        // a TestCond only an ExitIf reads
  std::vector<uint8_t> fused_exit_cond_;  // ... emitted as the ExitIf's own jcc
  std::deque<Xbyak::Label> side_exit_labels_;
  std::vector<SideExit> side_exits_;
  std::vector<std::pair<uint32_t, int64_t>> checked_ranges_;  // (base value, displacement) checked
  bool cpu_flags_pending_ = true;  // CpuState may hold lazy flags of an earlier block
  uint64_t dirty_flags_mask_ = 0;
  Xbyak::Label exit_request_, leave_with_r11_;
  std::deque<Xbyak::Label> link_stubs_;
  std::vector<ExitSlot*> link_slots_;
  std::deque<Xbyak::Label> range_faults_;
  std::vector<RangeFault> range_fault_info_;
  std::deque<Xbyak::Label> interpreter_exit_labels_;
  std::vector<InterpreterExit> interpreter_exits_;
};

}  // namespace

bool emit_block(const ir::Block& block, std::vector<std::unique_ptr<FallbackInsn>>& fallbacks,
                CodeCache& cache, const Runtime& rt, TranslatedBlock& out, uint16_t flags_hint) {
  if (cache.free_bytes() < 4096) return false;
  // A loop in place holds more values in registers; if they do not fit, the block is
  // emitted again as an ordinary one.
  for (bool allow_self_loop : {true, false}) {
    try {
      BlockEmitter e(block, fallbacks, cache, rt, out, allow_self_loop, flags_hint);
      try {
        e.run();
      } catch (const std::runtime_error&) {
        if (!e.self_loop()) throw;
        out.pc_map.clear();
        out.sync.clear();
        out.exits.clear();
        continue;
      }
      e.ready();
      out.code = cache.begin();
      out.code_size = uint32_t(e.getSize());
      out.self_loop = e.self_loop();
      cache.commit(e.getSize());
      return true;
    } catch (const Xbyak::Error& err) {
      if (int(err) == Xbyak::ERR_CODE_IS_TOO_BIG) return false;
      throw std::runtime_error(std::string("jit backend: ") + err.what());
    }
  }
  return false;  // (not reached: the second attempt returns or throws)
}

}  // namespace vireo::jit
