// BlockEmitter (block_emitter.h): the instructions and register allocation; and emit_block,
// the backend's entry point. Guest memory accesses are guest_access.cpp.
#include "jit/backend/x64/emitter.h"

#include "jit/backend/x64/block_emitter.h"
#include "jit/backend/x64/emit_bits.h"
#include "jit/backend/x64/emit_div.h"
#include "jit/backend/x64/emit_sse.h"
#include "jit/passes/passes.h"
#include "jit/runtime/helpers.h"

namespace vireo::jit {

namespace x64_detail {

namespace {
struct ThreadScratch {
  BlockEmitter::Scratch scratch;
  bool busy = false;
};
thread_local ThreadScratch thread_scratch;
}  // namespace

BlockEmitter::ScratchLease::ScratchLease() : own(thread_scratch.busy) {
  s = own ? new Scratch : &thread_scratch.scratch;
  thread_scratch.busy = true;
  s->clear_lists();
}

BlockEmitter::ScratchLease::~ScratchLease() {
  if (own) {
    delete s;
  } else {
    s->clear_lists();  // (nothing it points to outlives the block's emission)
    thread_scratch.busy = false;
  }
}

void BlockEmitter::begin_block(const ir::Block& b, std::vector<std::unique_ptr<FallbackInsn>>& fb,
                               CodeCache& cache, const Runtime& rt, TranslatedBlock& out,
                               bool allow_self_loop, uint16_t flags_hint, unsigned max_loop_regs) {
  // Xbyak's side: the labels' lists first (their labels leave the manager they joined), then
  // the size, the jump list and the label manager (CodeGenerator::reset), then the buffer:
  // the cache's free room, as the constructor's user buffer (CodeArray's members).
  softmmu_slow_labels_.clear();
  softmmu_retry_labels_.clear();
  interpreter_exit_labels_.clear();
  reset();
  top_ = cache.begin();
  maxSize_ = cache.free_bytes();
  // A label the manager did not define (a jump to it was emitted before a retried attempt
  // threw) still holds its old id: cleared, as a new Label.
  loop_head_.clear();
  loop_head2_.clear();
  exit_table_.exits.clear();
  exit_table_.slots.clear();
  lease_.s->clear_lists();
  softmmu_slow_.clear();

  b_ = &b;
  fb_ = &fb;
  rt_ = &rt;
  out_ = &out;
  // Every per-block member at its initializer in the class (block_emitter.h), in its order
  // there; at_tail_ is written by enter_tail before emit_tail reads it.
  dead_at_head_flags_ = false;
  dead_at_head_gprs_ = 0;
  peel_ = false;
  copy_ = 0;
  carried_at_back_[0] = carried_at_back_[1] = false;
  std::fill(std::begin(final_of_), std::end(final_of_), kNone);
  carried_flags_ = kNone;
  carried_gpr_[0] = carried_gpr_[1] = 0;
  carried_hoisted_[0] = carried_hoisted_[1] = kNone;
  carried_imm_ = false;
  carried_ = FlagsRecipe{};
  carried_ind_ = -1;
  carried_active_ = false;
  carry_back_ = false;
  allow_carried_flags_ = true;
  planned_carry_ = false;
  std::fill(std::begin(hoisted_of_), std::end(hoisted_of_), -1);
  vex_loop_ = false;
  ymm_hi_dirty_ = 0;
  ymm_upper_valid_ = 0;
  vex_upper_dirty_ = false;
  vex_run_next_ = kNone;
  deferred_canonical_ = kNone;
  deferred_rsp_step_ = 0;
  deferred_push_ = kNone;
  exit_table_.on = false;
  exit_table_.index = -1;
  exit_table_.miss = nullptr;
  slots_used_ = 0;
  fused_branch_ = false;
  fused_tail_branch_ = false;
  tail_jcc_end_ = 0;
  used_ = 0;
  std::fill(std::begin(pins_), std::end(pins_), 0);
  std::fill(std::begin(owner_), std::end(owner_), kNone);
  xmm_loaded_ = xmm_dirty_ = 0;
  std::fill(std::begin(dirty_gpr_), std::end(dirty_gpr_), kNone);
  dirty_flags_ = kNone;
  base_flags_ = kNone;
  entry_flags_hint_ = 0;
  std::fill(std::begin(loop_reg_), std::end(loop_reg_), -1);
  written_ = 0;
  cpu_flags_pending_ = true;
  dirty_flags_mask_ = 0;

  const size_t n = b.insts.size();
  reg_of_.assign(std::max<size_t>(n, 1), -1);  // (snapshot reads reg_of_[0])
  last_use_.assign(n, 0);
  slot_of_.assign(n, -1);
  needed_at_.assign(n, kNone);
  hoisted_.assign(n, 0);
  coalesce_into_.assign(n, -1);
  pre_emitted_.assign(n, 0);
  self_loop_ = allow_self_loop && rt.self_loops && loops_to_itself(b);
  max_loop_regs_ = max_loop_regs;
  if (!self_loop_) find_branch_on_entry_flags(flags_hint);
}

void BlockEmitter::run() {
  // (displacements folded into accesses in user mode with the range-fault trampolines, whose
  // stub takes the address from r11, where a folded address's check computes it)
  // (a loop in place keeps the registers it reads in loop registers: no reads folded there)
  OperandSelection& sel = lease_.s->sel;  // (sel.folded is folded_)
  select_operands(*b_, sel, !rt_->tlb_table && rt_->range_fault[0] && rt_->range_fault[1], !self_loop_);
  fused_branch_ = sel.fused_branch;
  fused_tail_branch_ = sel.fused_tail_branch;
  if (!rt_->tlb_table) {
    // Room for the pc map (an entry per guest instruction) and the accesses' sync records at
    // once: grown one by one they were a malloc, a copy and a free per doubling. (User mode
    // packs both once the block is emitted, so the room does not outlive the emission; system
    // mode keeps the lists as they are.)
    out_->pc_map.reserve(b_->guest_insns + (b_->tail.present() ? b_->tail.guest_insns : 0));
    out_->sync.reserve(sel.plain_accesses);
  }
  if (self_loop_) {
    hoist_entry_reads();
    find_dead_at_loop_head();
  }
  find_exit_conditions();
  find_deferred_canonical();
  if (entry_flags_hint_) {  // the branch's GetFlags and TestCond: part of the terminal
    folded_[b_->term.cond.id] = 1;
    folded_[b_->insts[b_->term.cond.id].args[0].v] = 1;
  }
  compute_last_uses();
  if (rt_->entry_check) check_entry_bytes();  // (before anything of the block runs)
  // Exit check at block entry (design: interrupt/exit checks at TB entry), then count the
  // block's guest instructions. User mode checks on the edges that can close a cycle instead
  // (edge_request_check): a block entered by a forward chain needs none.
  if (!edge_checks()) {
    enc::cmp_cpu_imm(*this, 4, kOffExitRequest, 0);
    to_exit_request_.push_back(jcc_to_stub(0x5));  // jne
  }
  count_insns();
  if (self_loop_) {  // the guest registers the block reads, loaded once for all iterations
    for (uint32_t i = 0; i < b_->insts.size(); ++i)
      if (hoisted_[i]) {
        unsigned r = unsigned(b_->insts[i].args[0].v & 15);
        Reg64 h = alloc(i);
        loop_reg_[r] = h.getIdx();
        load_gpr(h, r);
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
    vex_loop_ = plan_vex_loop();
    if (vex_loop_) load_vex_loop_upper_halves();
    const bool carry = plan_carried_flags();
    planned_carry_ = carry;
    peel_ = plan_peeling(carry);
    if (carry) start_carried_flags();
    L(loop_head_);
  }
  if (peel_) {
    const State head = save();
    const bool carried_active = carried_active_;
    emit_range(0, b_->main_end());
    terminal(b_->term, fused_branch_);
    // The second copy starts from the same allocation state at its head.
    restore(head);
    carried_active_ = carried_active;
    if (vex_loop_) {
      enter_vex_loop_head();
    } else {
      ymm_upper_valid_ = 0;
      vex_upper_dirty_ = false;
      vex_run_next_ = kNone;
    }
    copy_ = 1;
    L(loop_head2_);
  }
  emit_range(0, b_->main_end());
  terminal(b_->term, fused_branch_);
  if (b_->tail.present()) emit_tail();
  out_of_line();
}

void BlockEmitter::emit_range(uint32_t from, uint32_t to) {
  uint64_t last_pc = ~uint64_t(0);
  CompactVec<SyncRecord>& sync = out_->sync;
  for (uint32_t i = from; i < to; ++i) {
    const ir::Inst& in = b_->insts[i];
    // (one branch: folded into users, or loaded before the loop)
    if (in.dead | folded_[i] | hoisted_[i]) continue;
    if (in.guest_pc != last_pc) {
      out_->pc_map.emplace_back(uint32_t(getSize()), in.guest_pc);
      last_pc = in.guest_pc;
    }
    const size_t sync_before = sync.size();
    emit(i, in);
    // The access an op's sync record stands for may come after other host instructions of the
    // op (an SSE op's emission): the record covers the op's code up to the next record.
    for (size_t k = sync_before, n = sync.size(); k < n; ++k)
      sync[k].host_end = k + 1 < n ? sync[k + 1].host_offset : uint32_t(getSize());
    release_dying(i);
  }
}

Reg64 BlockEmitter::free_register() const {
  for (int r : kPool)
    if (!(used_ & (1u << r))) return Reg64(r);
  throw std::runtime_error("jit backend: no free register");
}

uint32_t BlockEmitter::self_counting(uint32_t from, uint32_t to) const {
  // (counted by select_operands: a side exit asked a walk of the rest of the block)
  const std::vector<uint32_t>& before = lease_.s->sel.self_counting_before;
  return before[to] - before[from];
}

void BlockEmitter::count_insns() {
  const uint32_t fallbacks = self_counting(0, uint32_t(b_->insts.size()));
  if (rt_->count_insns && b_->guest_insns > fallbacks) enc::alu_cpu_imm(*this, 0, 8, kOffInsnCount, int32_t(b_->guest_insns - fallbacks));
}

uint16_t BlockEmitter::loop_regs_mask() const {
  uint16_t m = 0;
  for (unsigned r = 0; r < 16; ++r)
    if (loop_reg_[r] >= 0) m |= uint16_t(1u << r);
  return m;
}

void BlockEmitter::compute_last_uses() {
  const uint32_t end = uint32_t(b_->insts.size());
  // (through local pointers: the stores would otherwise make the compiler load each vector's
  // data pointer again for every operand)
  const ir::Inst* insts = b_->insts.data();
  const uint8_t* folded = folded_.data();
  uint32_t* last = last_use_.data();
  simple_.resize(end);
  uint8_t* simple = simple_.data();
  for (uint32_t i = 0; i < end; ++i) {
    const ir::Inst& in = insts[i];
    // (what folding decided is final here: see simple_)
    simple[i] = !folded[i] && !recomputable(in.op) && in.op != Opcode::TestCond;
    if (in.dead || folded[i]) continue;
    for (int a = 0; a < in.nargs; ++a) {
      if (in.args[a].is_imm) continue;
      const uint64_t v = in.args[a].v;
      last[v] = i;
      if (simple[v]) continue;  // (defined before i: its byte is set)
      const ir::Inst& d = insts[v];
      // A folded shift's operand is read by the instruction it was folded into, and so is a
      // folded address's base.
      if (folded[v] && d.op == Opcode::Shl) last[d.args[0].v] = i;
      if (folded_address(v)) last[folded_address_reg(v)] = i;
      // Flags not computed until a reader needs them: their operands live until then.
      if (recomputable(d.op)) for_flags_inputs(v, [&](uint64_t x) { last[x] = i; });
    }
  }
  // A terminal reads its values at its position: the block's own at main_end() (before its
  // tail), the tail's at the end.
  auto terminal_uses = [&](const ir::Terminal& t, bool fused, uint32_t at) {
    auto use = [&](uint64_t v) { last_use_[v] = std::max(last_use_[v], at); };
    if (t.cond.valid()) use(t.cond.id);
    if (t.dest.valid()) use(t.dest.id);
    if (fused) {
      uint64_t f = b_->insts[t.cond.id].args[0].v;
      use(f);
      for_flags_inputs(f, use);
    }
  };
  terminal_uses(b_->term, fused_branch_, b_->main_end());
  if (b_->tail.present()) terminal_uses(b_->tail.term, fused_tail_branch_, end);
  if (self_loop_) {
    std::vector<uint32_t> head_last_use(last_use_);
    for (uint32_t i = 0; i < end; ++i)
      if (hoisted_[i]) last_use_[i] = end;  // the loop register, reserved to the back edge
    plan_coalescing(head_last_use);
  }
  // A side exit's condition re-run from lazy flags at the ExitIf (a Select's at the Select):
  // their operands live to it.
  for (uint32_t i = 0; i < end; ++i) {
    const ir::Inst& in = b_->insts[i];
    if (in.dead || (in.op != Opcode::ExitIf && in.op != Opcode::Select) || in.args[0].is_imm ||
        !exit_cond_[in.args[0].v])
      continue;
    uint64_t f = b_->insts[in.args[0].v].args[0].v;
    last_use_[f] = std::max(last_use_[f], i);  // (a loop register lives to the end anyway)
    for_flags_inputs(f, [&](uint64_t x) { last_use_[x] = std::max(last_use_[x], i); });
  }
}

bool BlockEmitter::overwritten_unobserved(unsigned g, uint32_t i) const {
  // (bounded: a guest register rewritten this close is the common case, `shl rbx, 4; add rbx, r10`)
  const uint32_t end = std::min<uint32_t>(b_->main_end(), i + 48);
  for (uint32_t k = i + 1; k < end; ++k) {
    const ir::Inst& x = b_->insts[k];
    if (x.dead || folded_[k]) continue;
    if (x.op == Opcode::SetGpr) {
      if (!x.args[0].is_imm || (x.args[0].v & 15) != g) continue;
      return true;
    }
    if (x.op == Opcode::SetFlags) continue;
    if (x.op == Opcode::GetGpr) {
      if ((x.args[0].v & 15) == g) return false;
      continue;
    }
    // Anything that may leave the block, record a sync point, call out or read the flags'
    // state could look at g's home; only pure computations are passed over.
    if (!passes::detail::has_trait(x.op, passes::detail::kPure)) return false;
  }
  return false;
}

Reg64 BlockEmitter::alloc_result(uint32_t i, const ir::Inst& in) {
  auto dying = [&](int k) {
    if (k >= in.nargs || in.args[k].is_imm || folded_[in.args[k].v]) return -1;
    uint32_t v = uint32_t(in.args[k].v);
    int r = reg_of_[v];
    if (r < 0 || owner_[r] != v || last_use_[v] != i) return -1;
    if (pins_[r] == 0) return r;
    // Pinned only as the dirty value of one guest register that is written again before
    // anything can look at it (`movzx ebx, bl; ...; shl rbx, 4; add rbx, r10`: the shift's
    // operand is rbx's value until the add): the guest register is left without a dirty
    // value in between, and the result takes the register in place (no copy).
    // (i itself only computes: a load's sync record, taken after this, must see g's value)
    if (pins_[r] != 1 || self_loop_ || !passes::detail::has_trait(in.op, passes::detail::kPure)) return -1;
    int g = -1;
    for (unsigned x = 0; x < 16; ++x)
      if (dirty_gpr_[x] == v) g = g < 0 ? int(x) : 16;
    if (g < 0 || g == 16 || !overwritten_unobserved(unsigned(g), i)) return -1;
    dirty_gpr_[g] = kNone;
    pins_[r] = 0;
    return r;
  };
  int r = -1;
  const unsigned ops = in_place_operands(in.op);
  if (ops & 1) r = dying(0);
  if (r < 0 && (ops & 2)) r = dying(1);
  if (r < 0) coalesce_now(i, in, r);
  if (r < 0) return alloc(i);
  reg_of_[i] = r;
  owner_[r] = i;
  return Reg64(r);
}

Reg64 BlockEmitter::alloc(uint32_t id, uint32_t now) {
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
    // CpuState (their home), which frees their host registers; else spill a value.
    if (attempt == 0) spill_dirty(now);
    else if (!evict(now)) break;
    if (attempt == 1) attempt = 0;  // (evicted: try again)
  }
  throw std::runtime_error("jit backend: out of registers");
}

bool BlockEmitter::evict(uint32_t now) {
  int victim = -1;
  for (int r : kPool) {
    if (!(used_ & (1u << r)) || pins_[r]) continue;
    uint32_t v = owner_[r];
    if (v == kNone || reg_of_[v] != r || needed_at_[v] == now || hoisted_[v] || coalesce_into_[v] >= 0 ||
        recomputable(b_->insts[v].op) ||
        last_use_[v] <= now)
      continue;
    if (victim < 0 || last_use_[v] > last_use_[owner_[victim]]) victim = r;
  }
  if (victim < 0 || slots_used_ == (1u << kSpillSlots) - 1) return false;
  const unsigned slot = unsigned(__builtin_ctz(~unsigned(slots_used_)));
  slots_used_ |= uint16_t(1u << slot);
  const uint32_t v = owner_[victim];
  emit_cpu_mov(*this, false, kOffSpill + 8 * int(slot), Reg64(victim));
  slot_of_[v] = int8_t(slot);
  reg_of_[v] = -1;
  used_ &= ~(1u << victim);
  return true;
}

void BlockEmitter::reload(uint32_t v, uint32_t now) {
  const int slot = slot_of_[v];
  Reg64 r = alloc(v, now);
  emit_cpu_mov(*this, true, kOffSpill + 8 * slot, r);
  slot_of_[v] = -1;
  slots_used_ &= uint16_t(~(1u << slot));
}

template <class F>
void BlockEmitter::for_register_operands(uint64_t v, F fn) const {
  if (simple_[v]) return fn(v);
  const Opcode op = b_->insts[v].op;
  // A shift folded into an address, or a condition folded into a jcc (a fused branch or side
  // exit): what they read instead.
  if ((folded_[v] && (op == Opcode::Shl || op == Opcode::TestCond)) || (op == Opcode::TestCond && fused_exit_cond_[v]))
    return for_register_operands(b_->insts[v].args[0].v, fn);
  if (folded_address(v)) return fn(folded_address_reg(v));
  if (folded_[v]) return;
  if (lazy(v)) return for_flags_inputs(v, fn);
  fn(v);
}

void BlockEmitter::reload_operands(uint32_t i, const ir::Inst& in) {
  // First mark them all: reloading one must not spill another.
  for (int a = 0; a < in.nargs; ++a)
    if (!in.args[a].is_imm) for_register_operands(in.args[a].v, [&](uint64_t x) { needed_at_[x] = i; });
  if (!slots_used_) return;
  for (int a = 0; a < in.nargs; ++a)
    if (!in.args[a].is_imm)
      for_register_operands(in.args[a].v, [&](uint64_t x) {
        if (slot_of_[x] >= 0) reload(uint32_t(x), i);
      });
}

void BlockEmitter::release_dying(uint32_t i) {
  const ir::Inst& in = b_->insts[i];
  for (int a = 0; a < in.nargs; ++a) {
    if (in.args[a].is_imm) continue;
    uint64_t v = in.args[a].v;
    if (simple_[v]) {  // (none of the cases below)
      if (last_use_[v] == i) maybe_free(uint32_t(v), i);
      continue;
    }
    if (folded_[v] && b_->insts[v].op == Opcode::Shl) v = b_->insts[v].args[0].v;
    if (folded_address(v)) v = folded_address_reg(v);
    // A Select's fused condition: the flags it re-ran (and their operands) die here too.
    if (in.op == Opcode::Select && a == 0 && fused_exit_cond_[v]) v = b_->insts[v].args[0].v;
    if (last_use_[v] == i) maybe_free(uint32_t(v), i);
    if (recomputable(b_->insts[v].op))
      for_flags_inputs(v, [&](uint64_t x) {
        if (last_use_[x] == i) maybe_free(uint32_t(x), i);
      });
  }
  // A value nothing uses (e.g. a load kept for its fault) frees its register at once.
  if (last_use_[i] <= i) maybe_free(i, i);
}

void BlockEmitter::write_back_all(uint32_t now, bool release, uint16_t keep, bool keep_xmm, bool keep_flags) {
  for (unsigned r = 0; r < 16; ++r)
    if (dirty_gpr_[r] != kNone && !(keep & (1u << r))) {
      store_gpr(r, val(dirty_gpr_[r]));
      if (release) {
        unpin(dirty_gpr_[r], now);
        dirty_gpr_[r] = kNone;
      }
    }
  if (keep_flags) return write_back_xmm_unless(keep_xmm, release);
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
  write_back_xmm_unless(keep_xmm, release);
}

void BlockEmitter::spill_dirty(uint32_t now) {
  for (unsigned r = 0; r < 16; ++r) {
    uint32_t v = dirty_gpr_[r];
    if (v == kNone || last_use_[v] >= now) continue;
    // Only if nothing but guest registers pins it (`mov ebx, ebp` makes one value the dirty
    // value of two): all of them go home.
    int holders = 0;
    for (unsigned q = 0; q < 16; ++q) holders += dirty_gpr_[q] == v;
    if (pins_[reg_of_[v]] != holders) continue;
    for (unsigned q = r; q < 16; ++q)
      if (dirty_gpr_[q] == v) {
        store_gpr(q, val(v));
        dirty_gpr_[q] = kNone;
        unpin(v, now);
      }
  }
}

SyncRecord BlockEmitter::snapshot() {
  SyncRecord s{};  // (flags_reg -1, the rest empty)
  s.host_offset = uint32_t(getSize());
  // (without a branch per register: each is written, and counted only if dirty; reg_of_ has
  // at least one element for the index of a clean one)
  const int* reg_of = reg_of_.data();
  uint8_t n = 0;
  for (unsigned r = 0; r < 16; ++r) {
    const uint32_t v = dirty_gpr_[r];
    s.gprs.v[n] = {uint8_t(r), uint8_t(reg_of[v != kNone ? v : 0])};
    n += v != kNone;
  }
  s.gprs.n = n;
  if (dirty_flags_ != kNone) {
    if (lazy(dirty_flags_)) s.flags_recipe = recipe(dirty_flags_);
    else s.flags_reg = int8_t(reg_of_[dirty_flags_]);
    s.flags_mask = dirty_flags_mask_;
  }
  if (base_flags_ != kNone) s.base_recipe = recipe(base_flags_);
  // (a peeled loop's first copy runs the first iteration, where the flags are CpuState's; its
  // second copy runs only after a back edge that carried them)
  if (carried_active_ && dirty_flags_ == kNone && base_flags_ == kNone && (!peel_ || carried_at_back_[0])) {
    s.flags_recipe = carried_;
    s.flags_mask = flag::ARITH;
    s.flags_if = int8_t(carried_ind_);
  }
  s.xmm_dirty = xmm_dirty_;
  s.ymm_hi_dirty = ymm_hi_dirty_;
  return s;
}

void BlockEmitter::emit(uint32_t i, const ir::Inst& in) {
  if (pre_emitted_[i]) {  // (computed with the instruction before it)
    pre_emitted_[i] = 0;
    return;
  }
  if (in.op == Opcode::TestCond && exit_cond_[i] && lazy(in.args[0].v)) {
    fused_exit_cond_[i] = 1;  // the ExitIf re-runs the flags' operation and jumps on them
    return;
  }
  reload_operands(i, in);
  auto A = [&](int k) { return val(in.args[k].v); };
  auto imm = [&](int k) { return in.args[k].v; };
  if (recomputable(in.op)) return;  // computed where it is read (lazy flags)
  if (in.op != Opcode::TestCond && in.op != Opcode::SetFlags)
    for (int k = 0; k < in.nargs; ++k)
      if (!in.args[k].is_imm && !simple_[in.args[k].v] && lazy(in.args[k].v) && !(k == 2 && reads_carry_only(in.op)))
        materialize(uint32_t(in.args[k].v), i);
  Reg64 d = ir::info(in.op).result == ir::Type::Void ? r11 : alloc_result(i, in);
  switch (in.op) {
    case Opcode::GetGpr:
      if (uint32_t v = dirty_gpr_[imm(0) & 15]; v != kNone) enc::mov_rr(*this, d.getIdx(), val(v).getIdx());
      else load_gpr(d, unsigned(imm(0)));
      break;
    case Opcode::SetGpr:
      written_ |= uint16_t(1u << (imm(0) & 15));
      if (imm_arg(in, 1)) {  // a constant goes straight home
        unsigned r = unsigned(imm(0) & 15);
        enc::mov_cpu_imm(*this, 8, kOffGpr + 8 * int(r), uint32_t(int32_t(const_of(in.args[1].v))));
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
    case Opcode::SetFlags:
      set_flags_lazy(imm(0), uint32_t(in.args[1].v), i);
      if ((imm(0) & flag::ARITH) == flag::ARITH) end_carried_flags(i);
      break;
    case Opcode::GetSegBase:
      mov(d, qword[rbx + int(offsetof(CpuState, seg) + imm(0) * sizeof(Segment) + offsetof(Segment, base))]);
      break;
    case Opcode::Const: enc::mov_r64_imm(*this, d.getIdx(), imm(0)); break;
    // (of a merge into a value already as narrow, as a 16-bit op on a movzx'd register
    // leaves it: `movzx edi, word [m]; rol di, 8; and di, [m2]; movzx edi, di`, nothing to clear)
    case Opcode::ZeroExt8: case Opcode::ZeroExt16: {
      const unsigned bytes = in.op == Opcode::ZeroExt8 ? 1 : 2;
      if (folded_[in.args[0].v]) {  // a folded GetGpr: the register's low byte or word
        const unsigned r = unsigned(b_->insts[in.args[0].v].args[0].v & 15);
        if (dirty_gpr_[r] != kNone) {
          const Reg64 v = val(dirty_gpr_[r]);
          if (bytes == 1) movzx(d.cvt32(), v.cvt8());
          else movzx(d.cvt32(), v.cvt16());
        } else if (bytes == 1) {
          movzx(d.cvt32(), byte[rbx + kOffGpr + 8 * int(r)]);
        } else {
          movzx(d.cvt32(), word[rbx + kOffGpr + 8 * int(r)]);
        }
        break;
      }
      if (b_->insts[in.args[0].v].op == Opcode::MergeLow && upper_clear(in.args[0].v, bytes)) copy(d, A(0));
      else if (bytes == 1) movzx(d.cvt32(), A(0).cvt8());
      else movzx(d.cvt32(), A(0).cvt16());
      break;
    }
    case Opcode::ZeroExt32:
      if (folded_[in.args[0].v]) {  // a folded GetGpr: the register's low half, zero-extended
        const unsigned r = unsigned(b_->insts[in.args[0].v].args[0].v & 15);
        if (dirty_gpr_[r] != kNone) enc::mov_rr(*this, d.getIdx(), val(dirty_gpr_[r]).getIdx(), false);
        else mov(d.cvt32(), dword[rbx + kOffGpr + 8 * int(r)]);
        break;
      }
      enc::mov_rr(*this, d.getIdx(), A(0).getIdx(), false);
      break;
    case Opcode::SignExt8: movsx(d, A(0).cvt8()); break;
    case Opcode::SignExt16: movsx(d, A(0).cvt16()); break;
    case Opcode::SignExt32: movsxd(d, A(0).cvt32()); break;
    case Opcode::MergeLow:
      if (d.getIdx() == A(1).getIdx()) {  // (cannot happen: d is A(0)'s or a free register)
        throw std::runtime_error("jit backend: MergeLow into its second operand");
      }
      if (upper_clear(in.args[0].v, unsigned(imm(2)))) {  // (nothing of the old value is left)
        if (imm(2) == 1) movzx(d.cvt32(), A(1).cvt8());
        else movzx(d.cvt32(), A(1).cvt16());
        break;
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
    case Opcode::ShiftCl: emit_shift_cl(*this, imm(0), d, A(1), A(2)); break;
    case Opcode::FlagsShiftCl: emit_flags_shift_cl(*this, imm(0), d, A(1), A(2), A(3)); break;
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
      // The frontend emits the flags of the same adc/sbb right after its value: both come
      // from this one host instruction (instead of re-running the carry and the adc/sbb).
      if (in.op == Opcode::Adc || in.op == Opcode::Sbb) {
        uint32_t j = i + 1;
        while (j < b_->insts.size() && (b_->insts[j].dead || folded_[j])) ++j;
        const Opcode flags_op = in.op == Opcode::Adc ? Opcode::FlagsAdc : Opcode::FlagsSbb;
        if (j < b_->main_end() && b_->insts[j].op == flags_op && b_->insts[j].nargs == in.nargs &&
            std::equal(in.args, in.args + in.nargs, b_->insts[j].args,
                       [](const ir::Arg& x, const ir::Arg& y) { return x.is_imm == y.is_imm && x.v == y.v; })) {
          capture_flags(alloc(j, i));
          pre_emitted_[j] = 1;
        }
      }
      break;
    }
    case Opcode::BitOp: case Opcode::FlagsBitOp: emit_bit_op(*this, imm(0), d, A(1), A(2), in.op == Opcode::FlagsBitOp); break;
    case Opcode::ShiftDouble: case Opcode::FlagsShiftDouble: emit_shift_double(*this, imm(0), d, A(1), A(2), A(3), in.op == Opcode::FlagsShiftDouble); break;
    case Opcode::RotateCarry: case Opcode::FlagsRotateCarry: emit_rotate_carry(*this, imm(0), d, A(1), A(2), A(3), in.op == Opcode::FlagsRotateCarry); break;
    case Opcode::AddThrough: case Opcode::FlagsAddThrough: {
      // The flags op right after the value op, on the same operands: both from one host adc
      // (as for Adc and FlagsAdc above); the flags' register is taken once the value is in d
      // (an eviction then spills the value, not a register yet to be written).
      if (in.op == Opcode::FlagsAddThrough) {
        emit_add_through_flags(*this, imm(0), d, A(1), A(2), A(3));  // (the sum in d, then the flags)
        mov(d, r11);
        break;
      }
      uint32_t j = i + 1;
      while (j < b_->insts.size() && (b_->insts[j].dead || folded_[j])) ++j;
      if (j < b_->main_end() && b_->insts[j].op == Opcode::FlagsAddThrough &&
          std::equal(in.args, in.args + in.nargs, b_->insts[j].args,
                     [](const ir::Arg& x, const ir::Arg& y) { return x.is_imm == y.is_imm && x.v == y.v; })) {
        emit_add_through_flags(*this, imm(0), d, A(1), A(2), A(3));
        mov(alloc(j, i), r11);  // (alloc's spills are movs from the block's registers: r11 kept)
        pre_emitted_[j] = 1;
      } else {
        emit_add_through_value(*this, imm(0), d, A(1), A(2), A(3));
      }
      break;
    }
    case Opcode::Pdep: case Opcode::Pext: emit_pdep_pext(*this, in.op == Opcode::Pdep, unsigned(imm(0)), d, A(1), A(2)); break;
    case Opcode::Crc32: emit_crc32(*this, unsigned(imm(0)), d, A(1), A(2)); break;
    case Opcode::MulHigh: case Opcode::FlagsMulWide: emit_mul_wide(*this, imm(0), d, A(1), A(2), in.op == Opcode::FlagsMulWide); break;
    case Opcode::BoolToU64: copy(d, A(0)); break;  // (TestCond leaves 0 or 1 in 64 bits)
    case Opcode::Select:
      if (fused_exit_cond_[in.args[0].v]) {
        // cmovcc: the condition's flags operation re-run and the host cmov on its flags (no
        // setcc, movzx and test of a 0/1 value), as a fused side exit's jcc does.
        const ir::Inst& tc = b_->insts[in.args[0].v];
        const uint64_t f = tc.args[0].v;
        uint8_t cc = uint8_t(tc.args[1].v);
        // (d is a new register, none of the operands': a Select is not computed in place)
        const bool direct = d.getIdx() != A(1).getIdx() && lazy(f);  // (mov keeps the flags)
        if (lazy(f)) {
          emit_flags_recipe(*this, recipe(f));  // (writes r11 at most)
        } else {  // (materialized for another reader since): the 0/1 condition in d
          emit_test_cond(*this, d, val(f), cc);
          test(d.cvt32(), d.cvt32());
          cc = 0x5;  // nz
        }
        const Reg64 t = direct ? d : r11;
        if (t.getIdx() != A(2).getIdx()) mov(t, A(2));
        emit_cmov(*this, cc, t, A(1));
        if (!direct) mov(d, r11);
        break;
      }
      mov(r11, A(2));
      test(A(0), A(0));
      cmovnz(r11, A(1));
      mov(d, r11);
      break;
    // (the accesses are encoded directly: host_encoding.h, as Xbyak encodes them; the opcode
    // table lists each access's four sizes in order)
    static_assert(unsigned(Opcode::Load64) - unsigned(Opcode::Load8) == 3 &&
                  unsigned(Opcode::Store64) - unsigned(Opcode::Store8) == 3);
    case Opcode::Load8: case Opcode::Load16: case Opcode::Load32: case Opcode::Load64: {
      const unsigned size = 1u << (unsigned(in.op) - unsigned(Opcode::Load8));
      // movsx r, [m]: the sign extension right after, the load's only reader, is the host
      // access's own (movsx/movsxd from memory), its register taken before the access so
      // that nothing is emitted between the access's sync record and the access.
      uint32_t j = i + 1;
      while (j < b_->insts.size() && (b_->insts[j].dead || folded_[j])) ++j;
      const Opcode sext = size == 1 ? Opcode::SignExt8 : size == 2 ? Opcode::SignExt16 : Opcode::SignExt32;
      if (size < 8 && j < b_->main_end() && b_->insts[j].op == sext && !b_->insts[j].args[0].is_imm &&
          b_->insts[j].args[0].v == i && lease_.s->sel.uses[i] == 1 && !pre_emitted_[j]) {
        const Reg64 e = alloc(j, i);
        guest_access(in, 0, false);
        const GuestOperand a = guest_index(in.args[0].v);
        const Xbyak::RegExp m = a.index < 0 ? r15 + a.disp : r15 + Reg64(a.index) * a.scale + a.disp;
        if (size == 1) movsx(e, byte[m]);
        else if (size == 2) movsx(e, word[m]);
        else movsxd(e, dword[m]);
        pre_emitted_[j] = 1;
        break;
      }
      guest_access(in, 0, false);
      const GuestOperand a = guest_index(in.args[0].v);
      enc::load_guest(*this, size, d.getIdx(), a.index, a.disp, a.scale);
      break;
    }
    case Opcode::Store8: case Opcode::Store16: case Opcode::Store32: case Opcode::Store64: {
      if (i == deferred_push_) break;  // (a call's push, after the jump-cache probe: block_exits.cpp)
      const unsigned size = 1u << (unsigned(in.op) - unsigned(Opcode::Store8));
      guest_access(in, 0, true);
      const GuestOperand a = guest_index(in.args[0].v);
      // (a 64-bit store's constant fits a sign-extended imm32: takes_imm)
      if (imm_arg(in, 1)) enc::store_guest_imm(*this, size, uint32_t(const_of(in.args[1].v)), a.index, a.disp, a.scale);
      else enc::store_guest(*this, size, A(1).getIdx(), a.index, a.disp, a.scale);
      break;
    }
    case Opcode::AtomicXadd: case Opcode::AtomicXchg: case Opcode::AtomicCmpXchg: atomic(in, d); break;
    // (guest_access leaves the sync record at the offset of the access just emitted)
    case Opcode::Interpret: call_helper(i, rt_->fallback_helper, (*fb_)[in.args[0].v].get()); break;
    case Opcode::RepString: call_helper(i, rt_->rep_string_helper, (*fb_)[in.args[0].v].get()); break;
    case Opcode::CheckCanonical: {
      if (i == deferred_canonical_) break;  // (on the terminal's jump-cache miss path)
      // Canonical: bits 63..47 all equal, so sign-extending from bit 47 changes nothing.
      const Reg64 v = A(0);
      mov(r11, v);
      shl(r11, 16);
      sar(r11, 16);
      cmp(r11, v);
      gp_check_stub(v, in, false, jcc_to_stub(0x5));  // jne
      break;
    }
    case Opcode::ExitIf:
      if (i == b_->tail.entry) enter_tail(i, in);
      else side_exit(i, in);
      break;
    case Opcode::Div: {
      // (the frontend's cqo is Sar(rax, 63): then high is the sign of low by construction)
      const ir::Inst& h = b_->insts[in.args[1].v];
      const bool high_is_sign = h.op == Opcode::Sar && !h.args[0].is_imm && h.args[0].v == in.args[2].v &&
                                (h.args[1].is_imm ? h.args[1].v : is_const(h.args[1].v) ? const_of(h.args[1].v) : 0) == 63;
      // The remainder's register is taken before anything of the division is emitted (an
      // eviction then spills another value; the quotient's register is not given up).
      uint32_t mul = kNone;
      bool rem32 = false;
      int rem = -1;
      if (const uint32_t s = remainder_of_div(i, in, mul, rem32); s != kNone) {
        needed_at_[i] = i;
        rem = alloc(s, i).getIdx();
        pre_emitted_[mul] = pre_emitted_[s] = 1;
      }
      emit_div(*this, imm(0), d, A(1), A(2), A(3), interpreter_exit(in, imm(0) >> 16), high_is_sign, rem, rem32);
      break;
    }
    case Opcode::SseRR: case Opcode::SseRM: case Opcode::SseStore: case Opcode::SseRG:
    case Opcode::SseToGpr: case Opcode::SseToGprM: case Opcode::SseFlagsRR: case Opcode::SseFlagsRM:
      sse(in, d);
      break;
    case Opcode::SseStrIdx: case Opcode::SseStrIdxM: sse_string(in, d); break;  // emit_sse_string.cpp
    // ---- system mode (frontend/system.cpp) ----
    case Opcode::GetCpuField: mov(d, qword[rbx + int(imm(0))]); break;
    case Opcode::LoadHost64:
      mov(r11, imm(0));
      mov(d, qword[r11]);
      break;
    case Opcode::ReadTsc:  // (rax and rdx may hold live values: kept on the stack, as MulHigh does)
      push(rax);
      push(rdx);
      rdtsc();
      shl(rdx, 32);
      or_(rax, rdx);
      mov(r11, rax);
      pop(rdx);
      pop(rax);
      mov(d, r11);
      break;
    case Opcode::SetCpuField: case Opcode::StoreHost32: system_store(in); break;  // emit_system.cpp
    case Opcode::CheckAligned16: check_aligned16(in); break;                        // emit_system.cpp
    case Opcode::VexRR: case Opcode::VexRM: case Opcode::VexFromGpr: case Opcode::VexToGpr:
    case Opcode::VexToGprM: case Opcode::VexFlags: case Opcode::VexFlagsM: case Opcode::VexZeroUpper:
      vex(i, in, d);  // emit_avx.cpp
      break;
    default: throw std::runtime_error("jit backend: unsupported opcode");
  }
}

void BlockEmitter::add_op(const ir::Inst& in, const Reg64& d) {
  int disp = 0, base = -1, index = -1, scale = 1;
  for (int k = 0; k < 2; ++k) {
    uint64_t v = in.args[k].v;
    if (imm_arg(in, k)) {
      disp = int32_t(const_of(v));
    } else if (folded_[v]) {  // x << s
      index = val(b_->insts[v].args[0].v).getIdx();
      scale = 1 << const_of(b_->insts[v].args[1].v);
    } else if (base < 0) {
      base = val(v).getIdx();
    } else {
      index = val(v).getIdx();
    }
  }
  emit_add(*this, d, base, index, scale, disp, is32(in.op));
}

void BlockEmitter::binary(const ir::Inst& in, const Reg64& d) {
  int ka = 0, kb = 1;
  if (commutative(in.op) && imm_arg(in, 0)) std::swap(ka, kb);
  if (imm_arg(in, kb))
    return emit_binary(*this, in.op, d, val(in.args[ka].v), -1, uint32_t(const_of(in.args[kb].v)));
  emit_binary(*this, in.op, d, val(in.args[ka].v), val(in.args[kb].v).getIdx(), 0);
}

bool BlockEmitter::upper_clear(uint64_t v, unsigned bytes) const {
  // A merge at least as narrow keeps the bits above `bytes` of its first operand.
  for (int depth = 0; depth < 8; ++depth) {
    const ir::Inst& x = b_->insts[v];
    if (x.op != Opcode::MergeLow || x.args[0].is_imm || x.args[2].v > bytes) break;
    v = x.args[0].v;
  }
  return passes::upper_bound(*b_, uint32_t(v)) <= (bytes == 1 ? 0xFFu : 0xFFFFu);
}

uint32_t BlockEmitter::remainder_of_div(uint32_t i, const ir::Inst& in, uint32_t& mul, bool& rem32) const {
  const unsigned size = unsigned(in.args[0].v & 0xFF);
  if (size == 1 || in.args[2].is_imm || in.args[3].is_imm) return kNone;  // (a byte's is in AH)
  const uint32_t n = b_->main_end();
  auto next = [&](uint32_t k) {
    while (++k < n && b_->insts[k].dead) {}
    return k;
  };
  auto usable = [&](uint32_t k) { return k < n && !folded_[k] && !hoisted_[k] && !pre_emitted_[k]; };
  // (frontend/shift_muldiv.cpp, divide: Mul(q, divisor), then Sub(low, that))
  const uint32_t m = next(i);
  if (!usable(m)) return kNone;
  const ir::Inst& mi = b_->insts[m];
  const uint64_t low = in.args[2].v, divisor = in.args[3].v;
  auto is = [](const ir::Arg& a, uint64_t v) { return !a.is_imm && a.v == v; };
  if ((mi.op != Opcode::Mul && mi.op != Opcode::Mul32) || lease_.s->sel.uses[m] != 1 ||
      !((is(mi.args[0], i) && is(mi.args[1], divisor)) || (is(mi.args[0], divisor) && is(mi.args[1], i))))
    return kNone;
  const uint32_t s = next(m);
  if (!usable(s)) return kNone;
  const ir::Inst& si = b_->insts[s];
  if ((si.op != Opcode::Sub && si.op != Opcode::Sub32) || !is(si.args[0], low) || !is(si.args[1], m) ||
      coalesce_into_[s] >= 0)
    return kNone;
  mul = m;
  // Both are the remainder modulo 2^(8 * size). The host's is zero-extended from the width:
  // exactly the Sub's value for 64-bit operands, and the Sub32's for 32- and 64-bit ones.
  // Otherwise (a Sub of 32-bit operands, any word's) the two differ above the width, so every
  // reader must take no more than the low `size` bytes.
  rem32 = si.op == Opcode::Sub32;
  if ((size == 8 && !rem32) || (rem32 && size >= 4)) return s;
  uint32_t readers = 0;
  for (uint32_t k = s + 1; k < b_->insts.size(); ++k) {
    const ir::Inst& x = b_->insts[k];
    if (x.dead) continue;
    for (int a = 0; a < x.nargs; ++a) {
      if (!is(x.args[a], s)) continue;
      const unsigned width = x.op == Opcode::ZeroExt8 ? 1 : x.op == Opcode::ZeroExt16 ? 2 : x.op == Opcode::ZeroExt32 ? 4
                             : x.op == Opcode::MergeLow && a == 1 ? unsigned(x.args[2].v) : 0;
      if (width == 0 || width > size) return kNone;
      ++readers;
    }
  }
  // (a terminal's reader is counted in uses, not found above)
  return readers == lease_.s->sel.uses[s] ? s : kNone;
}

void BlockEmitter::shift(const ir::Inst& in, const Reg64& d) {
  const ir::Inst& c = b_->insts[in.args[1].v];
  if (c.op != Opcode::Const) throw std::runtime_error("jit backend: variable shift count");
  uint8_t n = uint8_t(c.args[0].v);
  const Reg64 a = val(in.args[0].v);
  if (in.op == Opcode::Shl && n >= 1 && n <= 3 && d.getIdx() != a.getIdx()) {
    // Into another register (the operand lives on): one lea, not a mov and a shl (`lea rax,
    // [rdx*8]; sub rax, rdx`, a multiply by 7, is mov, shl, mov, sub otherwise).
    if (n == 1) lea(d, ptr[a + a]);
    else lea(d, ptr[a * (1 << n)]);
    return;
  }
  copy(d, a);
  if (n >= 64) {
    if (in.op == Opcode::Sar) sar(d, 63);
    else xor_(d.cvt32(), d.cvt32());
  } else if (n) {
    if (in.op == Opcode::Shl) shl(d, n);
    else if (in.op == Opcode::Shr) shr(d, n);
    else sar(d, n);
  }
}

void BlockEmitter::sse(const ir::Inst& in, const Reg64& d) {
  SseBits f = unpack(in.args[0].v);
  bool imm_form = in.op == Opcode::SseRR && f.gpr_size == 0xFF;  // marked by the frontend
  auto fail = [] { throw std::runtime_error("jit backend: SSE form not emitted"); };
  auto dest = [&](bool from_memory) {
    if (!sse_writes_whole_destination(f.mnemonic, from_memory)) xmm_in(in.args[1].v);
    return xmm_out(in.args[1].v);
  };
  if (sse_reads_xmm0(f.mnemonic)) xmm_in(0);  // (sha256rnds2's, blendv*'s implicit operand)
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
      if (!emit_sse_store(*this, f.mnemonic, m, x, f.imm8)) fail();
      break;
    }
    case Opcode::SseRG:
      if (!emit_sse_from_gpr(*this, f.mnemonic, dest(true), val(in.args[2].v), f.gpr_size, f.imm8)) fail();
      break;
    case Opcode::SseToGpr:
      if (!emit_sse_to_gpr(*this, f.mnemonic, d, f.gpr_size, xmm_in(in.args[1].v), f.imm8)) fail();
      break;
    case Opcode::SseToGprM: {
      Xbyak::Address m = guest_mem(in, 1, f, false);
      if (!emit_sse_to_gpr(*this, f.mnemonic, d, f.gpr_size, m, f.imm8)) fail();
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

void BlockEmitter::call_helper(uint32_t i, void* helper, FallbackInsn* f) {
  // rep movs/stos neither read nor write the flags: the block's are left lazy, as at an exit
  // (no capture with pushfq, no settling before the call; user mode's helper leaves them,
  // the system engine's settles them), and CpuState may hold lazy flags after the call.
  const bool flags_stay_lazy = b_->insts[i].op == Opcode::RepString && !rep_writes_flags(f->insn.mnemonic);
  if (flags_stay_lazy) {
    const uint32_t dirty = dirty_flags_, base = base_flags_;
    if (leave_flags_lazy()) {
      if (dirty != kNone) unpin_flags(dirty, i);
      if (base != kNone) unpin_flags(base, i);
    }
  }
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
  mov(rdx, uint64_t(rt_->mem));
  mov(rax, uint64_t(helper));
  call(rax);
  // The result goes to r11 first: restoring the saved registers may overwrite rax.
  mov(r11d, eax);
  if (saved.size() & 1) add(rsp, 8);
  for (auto it = saved.rbegin(); it != saved.rend(); ++it) pop(Reg64(*it));
  test(r11d, r11d);
  to_leave_with_r11_.push_back(jcc_to_stub(0x5));  // jnz
  cpu_flags_pending_ = flags_stay_lazy;  // (otherwise the helper settled them)
}

}  // namespace x64_detail

using x64_detail::BlockEmitter;


bool emit_block(ir::Block& block, std::vector<std::unique_ptr<FallbackInsn>>& fallbacks,
                CodeCache& cache, const Runtime& rt, TranslatedBlock& out, uint16_t flags_hint) {
  if (cache.free_bytes() < 4096) return false;
  ir::compact(block);
  // A loop in place holds more values in registers; if they do not fit, the block is
  // emitted again without loop-carried flags (their indicator register and operands), then
  // keeping at most six guest registers across iterations, then as an ordinary one.
  // (The second attempt is the first's again when the first planned no carried flags: skipped.)
  static constexpr std::pair<unsigned, bool> kAttempts[] = {{16u, true}, {16u, false}, {6u, false}, {0u, false}};
  bool repeat_without_carry = true;
  // The thread's emitter (a nested call, not made today, would make one of its own).
  thread_local std::unique_ptr<BlockEmitter> thread_emitter;
  thread_local bool emitter_busy = false;
  std::unique_ptr<BlockEmitter> own;
  BlockEmitter* emitter;
  if (emitter_busy) {
    own = std::make_unique<BlockEmitter>(cache);
    emitter = own.get();
  } else {
    if (!thread_emitter) thread_emitter = std::make_unique<BlockEmitter>(cache);
    emitter = thread_emitter.get();
  }
  struct Busy {
    bool& busy;
    bool was;
    explicit Busy(bool& b) : busy(b), was(b) { busy = true; }
    ~Busy() { busy = was; }
  } busy(emitter_busy);
  BlockEmitter& e = *emitter;
  for (auto [loop_regs, carry_flags] : kAttempts) {
    if (loop_regs == 16 && !carry_flags && !repeat_without_carry) continue;
    const bool allow_self_loop = loop_regs > 0;
    try {
      e.begin_block(block, fallbacks, cache, rt, out, allow_self_loop, flags_hint, loop_regs);
      e.allow_carried_flags(carry_flags);
      try {
        e.run();
      } catch (const std::runtime_error&) {
        if (!e.self_loop()) throw;
        if (carry_flags) repeat_without_carry = e.planned_carried_flags();
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
