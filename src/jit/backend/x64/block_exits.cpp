// BlockEmitter, block ends: the terminal, side exits, loops in place, the branch on entry flags, and the out-of-line paths.
#include <cstring>

#include "jit/backend/x64/block_emitter.h"
#include "jit/backend/x64/emit_avx.h"
#include "jit/passes/passes.h"

namespace vireo::jit::x64_detail {

void BlockEmitter::find_exit_conditions() {
  exit_cond_.assign(b_->insts.size(), 0);
  fused_exit_cond_.assign(b_->insts.size(), 0);
  // (the use counts are select_operands', which also counts the terminals' destinations)
  const std::vector<uint32_t>& uses = lease_.s->sel.uses;
  auto dest_uses = [&](uint32_t c) {
    uint32_t n = 0;
    b_->for_each_terminal([&](const ir::Terminal& t) { n += t.dest.valid() && t.dest.id == c; });
    return n;
  };
  for (const ir::Inst& in : b_->insts) {
    // (a Select's condition likewise: a host cmovcc, emitter.cpp)
    if (in.dead || (in.op != Opcode::ExitIf && in.op != Opcode::Select)) continue;
    uint32_t c = uint32_t(in.args[0].v);
    if (b_->insts[c].op == Opcode::TestCond && uses[c] - dest_uses(c) == 1 && !b_->insts[c].args[0].is_imm)
      exit_cond_[c] = 1;
  }
}

uint32_t BlockEmitter::exit_jcc(const ir::Inst& in) {
  uint32_t c = uint32_t(in.args[0].v);
  if (fused_exit_cond_[c]) {
    const ir::Inst& tc = b_->insts[c];
    emit_flags_recipe(*this, recipe(tc.args[0].v));
    return jcc_to_stub(uint8_t(tc.args[1].v));
  }
  test(val(c).cvt32(), val(c).cvt32());
  return jcc_to_stub(0x5);  // jnz
}

void BlockEmitter::side_exit(uint32_t i, const ir::Inst& in) {
  const uint32_t jcc_end = exit_jcc(in);
  // The instructions the entry counted that this exit skips (fallbacks count themselves); a
  // tail's exits, those of the tail's path (its entry made the count that path's).
  const bool in_tail = b_->tail.present() && i > b_->tail.start;
  uint64_t path = in_tail ? b_->tail.guest_insns : b_->guest_insns;
  const uint64_t count = in.args[2].v & ~ir::kGuessMissExit;
  uint64_t skipped = path - count - self_counting(i + 1, in_tail ? uint32_t(b_->insts.size()) : b_->main_end());
  side_exits_.push_back({snapshot(), in.args[1].v, skipped, jcc_end, cpu_flags_pending_,
                         (in.args[2].v & ir::kGuessMissExit) != 0});
}

BlockEmitter::State BlockEmitter::save() const {
  State s{reg_of_, used_, {}, {}, {}, dirty_flags_, base_flags_, xmm_loaded_, xmm_dirty_, written_,
          dirty_flags_mask_, cpu_flags_pending_, checked_ranges_, checked_alignments_, slot_of_,
          slots_used_};
  std::copy(std::begin(pins_), std::end(pins_), s.pins);
  std::copy(std::begin(owner_), std::end(owner_), s.owner);
  std::copy(std::begin(dirty_gpr_), std::end(dirty_gpr_), s.dirty_gpr);
  return s;
}

void BlockEmitter::restore(const State& s) {
  reg_of_ = s.reg_of;
  used_ = s.used;
  std::copy(std::begin(s.pins), std::end(s.pins), pins_);
  std::copy(std::begin(s.owner), std::end(s.owner), owner_);
  std::copy(std::begin(s.dirty_gpr), std::end(s.dirty_gpr), dirty_gpr_);
  dirty_flags_ = s.dirty_flags;
  base_flags_ = s.base_flags;
  xmm_loaded_ = s.xmm_loaded;
  xmm_dirty_ = s.xmm_dirty;
  written_ = s.written;
  dirty_flags_mask_ = s.dirty_flags_mask;
  cpu_flags_pending_ = s.cpu_flags_pending;
  checked_ranges_ = s.checked_ranges;
  checked_alignments_ = s.checked_alignments;
  slot_of_ = s.slot_of;
  slots_used_ = s.slots_used;
}

void BlockEmitter::enter_tail(uint32_t i, const ir::Inst& in) {
  tail_jcc_end_ = exit_jcc(in);
  at_tail_ = save();
}

void BlockEmitter::emit_tail() {
  const uint32_t start = b_->tail.start;
  land(tail_jcc_end_);
  restore(at_tail_);
  // Registers of values that only the block's own code after the ExitIf, or its terminal,
  // still needed: free on this path.
  for (int r : kPool)
    if ((used_ & (1u << r)) && pins_[r] == 0 && last_use_[owner_[r]] <= start) used_ &= ~(1u << r);
  // The entry counted the block's own instructions; this path runs the tail's instead.
  if (rt_->count_insns) {
    int64_t delta = int64_t(b_->tail.guest_insns) - int64_t(b_->guest_insns) +
                    int64_t(self_counting(b_->tail.entry + 1, start));
    if (delta) add(qword[rbx + kOffInsnCount], int32_t(delta));
  }
  emit_range(start + 1, uint32_t(b_->insts.size()));
  terminal(b_->tail.term, fused_tail_branch_);
}

void BlockEmitter::write_back_for_exit(const SyncRecord& s, bool flags_pending) {
  // (a value over a base layer: write_back stores both)
  if (s.flags_reg >= 0 ? s.flags_if >= 0 || s.base_recipe.op != FlagsRecipe::None ||
                             !store_flags_value(Reg64(s.flags_reg), s.flags_mask, flags_pending)
                       : !store_flags_lazily(s.flags_recipe, s.flags_mask, s.base_recipe, flags_pending))
    return write_back(s);
  SyncRecord rest = s;  // everything but the flags
  rest.flags_recipe = {};
  rest.base_recipe = {};
  rest.flags_reg = -1;
  write_back(rest);
}

bool BlockEmitter::loops_to_itself(const ir::Block& b) {
  bool self = false;
  b.for_each_terminal([&](const ir::Terminal& t) { self |= t.leads_to(b.guest_pc); });
  if (!self) return false;
  for (const ir::Inst& in : b.insts)
    if (!in.dead && (in.op == Opcode::Interpret || in.op == Opcode::RepString)) return false;
  return true;
}

void BlockEmitter::find_branch_on_entry_flags(uint16_t hint) {
  const ir::Terminal& t = b_->term;
  if (hint == 0 || (hint >> 8) != 0 || hint > kLazyFlagsCodes) return;
  if (t.kind != ir::Terminal::Kind::Branch || !t.cond.valid()) return;
  const ir::Inst& c = b_->insts[t.cond.id];
  if (c.op != Opcode::TestCond || c.args[0].is_imm) return;
  uint32_t g = uint32_t(c.args[0].v);
  if (b_->insts[g].op != Opcode::GetFlags) return;
  // Nothing after the GetFlags may change the flags, and the two are only the branch's.
  for (uint32_t i = g + 1; i < b_->insts.size(); ++i) {
    const ir::Inst& in = b_->insts[i];
    if (in.dead) continue;
    if (in.op == Opcode::SetFlags || in.op == Opcode::Interpret || in.op == Opcode::RepString) return;
  }
  for (uint32_t i = 0; i < b_->insts.size(); ++i) {
    const ir::Inst& in = b_->insts[i];
    if (in.dead || i == t.cond.id) continue;
    for (int a = 0; a < in.nargs; ++a)
      if (!in.args[a].is_imm && (in.args[a].v == g || in.args[a].v == t.cond.id)) return;
  }
  entry_flags_hint_ = hint;
}

void BlockEmitter::branch_on_entry_flags(Forward& not_taken) {
  const uint8_t cc = uint8_t(b_->insts[b_->term.cond.id].args[1].v);
  const unsigned k = entry_flags_hint_ - 1u, size = 1u << (k % 4);
  Forward slow, taken;
  cmp(word[rbx + kOffLazyOp], entry_flags_hint_);
  jcc_fwd(0x5, slow);  // jne
  mov(rax, qword[rbx + kOffLazyA]);
  mov(rcx, qword[rbx + kOffLazyB]);
  switch (FlagsRecipe::Op(FlagsRecipe::Add + k / 4)) {
    case FlagsRecipe::Add: add(sized(rax, size), sized(rcx, size)); break;
    case FlagsRecipe::Sub: cmp(sized(rax, size), sized(rcx, size)); break;
    default: test(sized(rax, size), sized(rax, size)); break;
  }
  jcc_fwd(cc ^ 1, not_taken);
  jmp_fwd(taken);
  land(slow);
  call(rt_->settle_flags);
  mov(rax, qword[rbx + kOffFlags]);
  emit_test_cond(*this, rcx, rax, cc);
  test(rcx, rcx);
  jcc_fwd(0x4, not_taken);  // jz
  land(taken);
}

void BlockEmitter::hoist_entry_reads() {
  uint16_t written = 0, read = 0;
  for (uint32_t i = 0; i < b_->insts.size(); ++i) {
    const ir::Inst& in = b_->insts[i];
    if (in.dead) continue;
    unsigned r = unsigned(in.args[0].v & 15);
    if (in.op == Opcode::SetGpr) written |= uint16_t(1u << r);
    if (in.op == Opcode::GetGpr && !((written | read) & (1u << r))) {
      read |= uint16_t(1u << r);
      // (a register not hoisted is read from CpuState in each iteration, where the back edge
      // leaves it, as any register the loop does not keep)
      if (unsigned(__builtin_popcount(read)) <= max_loop_regs_) hoisted_[i] = 1;
    }
  }
}

uint16_t BlockEmitter::xmm_regs_used() const {
  uint16_t m = 0;
  auto add = [&](uint64_t r) { m |= uint16_t(1u << (r & 15)); };
  for (const ir::Inst& in : b_->insts) {
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
      default: m |= vex_xmm_regs(in); break;  // (emit_avx.cpp)
    }
  }
  return m;
}

void BlockEmitter::back_edge() {
  enc::cmp_cpu_imm(*this, 4, kOffExitRequest, 0);
  const uint32_t request = jcc_to_stub(0x5);  // jne
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
  for (unsigned r : reloads) load_gpr(Reg64(loop_reg_[r]), r);
  if (carry_back_ && carried_ind_ >= 0) mov(Xbyak::Reg32(carried_ind_), 1);  // (the flags live in the loop registers)
  if (peel_) {
    // Both copies' back edges lead to the second copy's head, whose records assume the first
    // copy's choice: they must agree (else the block is emitted again without carrying).
    carried_at_back_[copy_] = carry_back_;
    if (copy_ == 1 && carried_at_back_[1] != carried_at_back_[0])
      throw std::runtime_error("jit backend: peeled loop copies disagree on carried flags");
  }
  count_insns();
  jmp(peel_ ? loop_head2_ : loop_head_, T_NEAR);
  // An exit request: everything goes home (the loop registers with their values before the
  // moves, and what the back edge left out), and the block is left at its start.
  land(request);
  leave_flags_lazy();
  write_back_all(uint32_t(b_->insts.size()), false);
  to_exit_request_.push_back(jmp_to_stub());
}

void BlockEmitter::exit_to(uint64_t pc) {
  if (self_loop_ && pc == b_->guest_pc) return back_edge();
  if (self_loop_) {  // leaving the loop: its registers' current values go home
    for (unsigned r = 0; r < 16; ++r)
      if (loop_reg_[r] >= 0 && dirty_gpr_[r] != kNone) store_gpr(r, val(dirty_gpr_[r]));
    write_back_xmm();
  }
  chainable_exit(pc);
}

void BlockEmitter::edge_request_check(uint64_t target) {
  if (!edge_checks() || target > b_->guest_pc) return;
  enc::cmp_cpu_imm(*this, 4, kOffExitRequest, 0);
  edge_requests_.emplace_back(jcc_to_stub(0x5), target);  // jne
}

void BlockEmitter::chainable_exit(uint64_t target) {
  // (every caller has written the guest state back: the request leaves with it at target)
  edge_request_check(target);
  auto slot = std::make_unique<ExitSlot>();
  slot->jmp = const_cast<uint8_t*>(getCurr());
  slot->target_pc = target;
  // jmp rel32 to the link stub, patched when out_of_line places it (no Xbyak label)
  db(0xE9);
  dd(0);
  link_jmp_ends_.push_back(uint32_t(getSize()));
  link_slots_.push_back(slot.get());
  out_->exits.push_back(std::move(slot));
}

void BlockEmitter::find_dead_at_loop_head() {
  uint16_t read = 0;
  for (uint32_t i = 0; i < b_->main_end(); ++i) {
    const ir::Inst& in = b_->insts[i];
    if (in.dead) continue;
    const unsigned r = unsigned(in.args[0].v & 15);
    if (in.op == Opcode::GetGpr) read |= uint16_t(1u << r);
    else if (in.op == Opcode::SetGpr && !(read & (1u << r))) dead_at_head_gprs_ |= uint16_t(1u << r);
    else if (in.op == Opcode::SetFlags && (in.args[0].v & flag::ARITH) == flag::ARITH) dead_at_head_flags_ = true;
    // Anything else that reads the flags (or can leave the block with them) comes first.
    if (in.op == Opcode::GetFlags && !dead_at_head_flags_) break;
    if (passes::is_sync_point(in.op)) break;
  }
  dead_at_head_gprs_ &= uint16_t(~loop_regs_mask());  // (read first, so never in the set)
}

void BlockEmitter::end_writes(bool back) {
  carry_back_ = back && !dead_at_head_flags_ && carries_flags_now();
  const bool keep_flags = back && (dead_at_head_flags_ || carry_back_);
  if (!keep_flags) leave_flags_lazy();
  // (a loop in place writes its loop registers back only where it leaves: exit_to)
  uint16_t keep = self_loop_ ? loop_regs_mask() : 0;
  if (back) keep |= dead_at_head_gprs_;
  write_back_all(uint32_t(b_->insts.size()), false, keep, self_loop_, keep_flags);
}

void BlockEmitter::branch_test(const ir::Terminal& t, bool fused, Forward& not_taken) {
  if (entry_flags_hint_ && &t == &b_->term) return branch_on_entry_flags(not_taken);
  if (!fused) {
    test(val(t.cond.id), val(t.cond.id));
    return jcc_fwd(0x4, not_taken);  // jz
  }
  const ir::Inst& c = b_->insts[t.cond.id];
  uint64_t f = c.args[0].v;
  uint8_t cc = uint8_t(c.args[1].v);
  if (lazy(f)) {
    emit_flags_recipe(*this, recipe(f));
    jcc_fwd(cc ^ 1, not_taken);
  } else {  // (materialized for another reader) any register is free to clobber here, after
    // the block's writes, but in a loop in place (the loop registers, the values moved into
    // them, and values not yet written when the writes follow the branch)
    Reg64 scratch = val(f).getIdx() == rax.getIdx() ? rcx : rax;
    if (self_loop_) scratch = free_register();
    emit_test_cond(*this, scratch, val(f), cc);
    test(scratch, scratch);
    jcc_fwd(0x4, not_taken);  // jz
  }
}

void BlockEmitter::terminal(const ir::Terminal& t, bool fused) {
  const uint64_t start = b_->guest_pc;
  if (slots_used_) {  // (its condition's or target's value spilled: back into a register)
    ir::Inst use{};
    use.op = Opcode::ExitIf;
    for (ir::Value v : {t.cond, t.dest})
      if (v.valid()) use.args[use.nargs++] = ir::Arg::val(v);
    reload_operands(uint32_t(b_->insts.size()), use);
  }
  const bool to_pc = t.kind == ir::Terminal::Kind::Jump || t.kind == ir::Terminal::Kind::Branch;
  const bool loops = self_loop_ && t.leads_to(start);
  if (loops && (dead_at_head_flags_ || dead_at_head_gprs_ || carrying())) {
    // The back edge leaves out what the next iteration overwrites first, so the writes come
    // after the branch, on each way out.
    if (t.kind == ir::Terminal::Kind::Jump) {
      end_writes(true);
      return back_edge();
    }
    Forward not_taken;
    branch_test(t, fused, not_taken);
    const State s = save();
    end_writes(t.target == start);
    exit_to(t.target);
    land(not_taken);
    restore(s);
    end_writes(t.fallthrough == start);
    return exit_to(t.fallthrough);
  }
  // (a block whose tail loops may end in any other way than to a pc: then everything goes)
  const bool push = t.kind == ir::Terminal::Kind::Indirect && &t == &b_->term && deferred_push_ != kNone;
  if (to_pc) {
    end_writes(false);
  } else {
    leave_flags_lazy();
    // (a deferred push: rsp goes home after the push, on each way out)
    write_back_all(uint32_t(b_->insts.size()), false, push ? uint16_t(1u << RSP) : uint16_t(0));
  }
  switch (t.kind) {
    case ir::Terminal::Kind::Jump: exit_to(t.target); break;
    case ir::Terminal::Kind::Branch: {
      Forward not_taken;
      branch_test(t, fused, not_taken);
      exit_to(t.target);
      land(not_taken);
      exit_to(t.fallthrough);
      break;
    }
    case ir::Terminal::Kind::Indirect: {
      // The target stays where it is; the probe takes two registers that hold neither it nor
      // a deferred push's new rsp (everything else is home by now).
      const Reg64 dest = val(t.dest.id);
      uint32_t avoid = 1u << dest.getIdx();
      auto scratch = [&avoid] {
        for (int r : kPool)
          if (!(avoid & (1u << r))) {
            avoid |= 1u << r;
            return Reg64(r);
          }
        throw std::runtime_error("jit backend: no scratch register at an indirect exit");
      };
      Reg64 sp = dest;
      if (push && dirty_gpr_[RSP] == b_->insts[deferred_push_].args[0].v) {
        sp = val(b_->insts[deferred_push_].args[0].v);
        avoid |= 1u << sp.getIdx();
      } else if (push) {
        // (the terminal's reload of a spilled target wrote rsp home to free a register: its
        // step is taken back in CpuState, the new value kept here until the push is made)
        sp = scratch();
        load_gpr(sp, RSP);
        add(qword[rbx + kOffGpr + 8 * RSP], 8);
      }
      // (a jmp: no deferred push; the tables' entries are host addresses, user mode)
      if (&t == &b_->term && t.cond.valid() && b_->jump_table.present() && rt_->use_jump_cache && rt_->link_exit &&
          !push && !rt_->tlb_table) {
        const Reg64 index = val(t.cond.id);
        avoid |= 1u << index.getIdx();
        jump_table_dispatch(index, avoid);
      }
      if (rt_->use_jump_cache) {
        const Reg64 slot = scratch(), table = scratch();
        // The slot of CodeCache::jump_cache_index, 16 bytes each. A hit goes straight to the
        // block: no translated code reads CpuState::rip, which only a miss needs.
        imul(slot.cvt32(), dest.cvt32(), int(CodeCache::kJumpHashMul));
        shr(slot.cvt32(), int(32 - rt_->jump_cache_bits));
        shl(slot.cvt32(), 4);
        // (the jump cache shares the code cache's mapping: within a rel32 of the code, and
        // `lea table, [rip + d]` is 7 bytes against the 10 of `mov table, imm64`)
        const int64_t to_table = reinterpret_cast<const uint8_t*>(rt_->jump_cache) - (getCurr() + 7);
        if (to_table == int64_t(int32_t(to_table))) enc::lea_rip(*this, table.getIdx(), rt_->jump_cache);
        else enc::mov_r64_imm(*this, table.getIdx(), uint64_t(rt_->jump_cache));
        cmp(qword[table + slot], dest);
        // (rel32 past a deferred push: its check and store lengthen the hit path)
        const uint32_t miss = push ? jcc_to_stub(0x5) : jcc8(0x5);  // jne
        uint32_t request = 0;
        if (edge_checks()) {  // (a request leaves through the miss path, to the dispatcher)
          enc::cmp_cpu_imm(*this, 4, kOffExitRequest, 0);
          request = push ? jcc_to_stub(0x5) : jcc8(0x5);
        }
        count_lookup(rt_->jump_cache_hits);
        if (push) deferred_push(sp);  // (a hit is a translated block's pc: canonical)
        jmp(qword[table + slot + 8]);
        if (push) {
          land(miss);
          if (request) land(request);
        } else {
          land8(miss);
          if (request) land8(request);
        }
        count_lookup(rt_->jump_cache_misses);
        if (&t == &b_->term && deferred_canonical_ != kNone) deferred_canonical_check(dest);
      }
      if (push) deferred_push(sp);
      emit_cpu_mov(*this, false, kOffRip, dest);
      exit_with(kExitDispatch);
      break;
    }
    case ir::Terminal::Kind::Syscall: set_rip(t.target); exit_with(kExitSyscall); break;
    case ir::Terminal::Kind::Exit: set_rip(t.target); exit_with(kExitDispatch); break;
    case ir::Terminal::Kind::Return: exit_with(kExitDispatch); break;
    case ir::Terminal::Kind::None: throw std::runtime_error("jit backend: block without terminal");
  }
}

// A dispatch through a read-only jump table (frontend/jump_table.h): everything is home, the
// index in a register. Each entry of the block's table of exits holds the host address it
// goes to: the entry block once chained, the link stub until then (which asks the dispatcher
// to chain it, CodeCache::link), or the jump-cache probe that follows for a target no block
// can start at (not canonical: the probe's miss path raises the #GP). A pending exit request
// goes to the probe too, which checks it. No hash, no compare: the host `jmp` depends on the
// index only, not on the guest table's load.
void BlockEmitter::jump_table_dispatch(const Reg64& index, uint32_t& avoid) {
  Reg64 exits = rax;
  for (int r : kPool)
    if (!(avoid & (1u << r))) {
      exits = Reg64(r);
      break;
    }
  Xbyak::Label probe;
  if (edge_checks()) {
    enc::cmp_cpu_imm(*this, 4, kOffExitRequest, 0);
    jne(probe, T_NEAR);
  }
  lea(exits, ptr[rip + exit_table_.exits]);
  jmp(qword[exits + index * 8]);
  L(probe);
  exit_table_.on = true;
  exit_table_.index = index.getIdx();
  exit_table_.miss = getCurr();
}

// After the out-of-line code (so that -d out_asm lists the block's code before its data): the
// link stub, then the table of exits (8-byte aligned: each entry is patched with one store,
// atomic for another thread running the block), then each entry's ExitSlot for the stub.
void BlockEmitter::emit_exit_table() {
  if (!exit_table_.on) return;
  const Reg64 index(exit_table_.index);
  const uint8_t* link = getCurr();
  lea(r11, ptr[rip + exit_table_.slots]);
  mov(rdx, qword[r11 + index * 8]);  // (the trampoline takes the target pc from the slot)
  enc::jmp_abs(*this, rt_->link_exit);
  align(8);
  L(exit_table_.exits);
  const std::vector<uint64_t>& targets = b_->jump_table.targets;
  const size_t n = targets.size();
  // The two tables (an entry and a slot per target) are written straight into the buffer,
  // the room checked once: `dq` put each of their bytes through `db` and its bounds check
  // (python's bytecode switch has ~240 targets: 4% of its start-up's translation was here).
  if (maxSize_ - getSize() < 16 * n) throw Xbyak::Error(Xbyak::ERR_CODE_IS_TOO_BIG);
  uint8_t* const entries = const_cast<uint8_t*>(getCurr());
  uint8_t* const slots = entries + 8 * n;
  const uint64_t unlinked = uint64_t(reinterpret_cast<uintptr_t>(link));
  const uint64_t miss = uint64_t(reinterpret_cast<uintptr_t>(exit_table_.miss));
  auto chainable = [](uint64_t target) { return target != 0 && target < (uint64_t(1) << 47); };  // (else no block starts there)
  // The slots' room under one lock of their pool, not one per slot.
  std::vector<void*>& room = lease_.s->slot_room;
  room.resize(size_t(std::count_if(targets.begin(), targets.end(), chainable)));
  ExitSlot::allocate(room.size(), room.data());
  size_t made = 0;
  for (size_t k = 0; k < n; ++k) {
    const uint64_t target = targets[k];
    uint64_t entry = miss, slot_at = 0;
    if (chainable(target)) {
      std::unique_ptr<ExitSlot> slot(::new (room[made++]) ExitSlot{});
      slot->jmp = reinterpret_cast<uint8_t*>(reinterpret_cast<uintptr_t>(entries + 8 * k) | ExitSlot::kTableEntry);
      slot->unlinked = const_cast<uint8_t*>(link);
      slot->target_pc = target;
      slot_at = uint64_t(reinterpret_cast<uintptr_t>(slot.get()));
      out_->exits.push_back(std::move(slot));
      entry = unlinked;
    }
    std::memcpy(entries + 8 * k, &entry, 8);
    std::memcpy(slots + 8 * k, &slot_at, 8);
  }
  setSize(getSize() + 8 * n);
  L(exit_table_.slots);
  setSize(getSize() + 8 * n);
}

// `jmp rax` (an interpreter's dispatch, a switch's jump table, a PLT stub's `jmp [got]`) and
// `ret` check that the target is canonical (#GP at the branch, its state unchanged) before they
// go. A jump-cache hit is a translated block's pc, canonical (user mode: inside the guest
// window), so the check moves to the miss path when nothing between it and the terminal
// changes the guest state but a ret's rsp step, which the failure path takes back: five host
// instructions less per indirect branch (lua's and sqlite's bytecode dispatch, python's).
void BlockEmitter::find_deferred_canonical() {
  if (rt_->tlb_table || !rt_->use_jump_cache || b_->tail.present() || self_loop_) return;
  if (b_->term.kind != ir::Terminal::Kind::Indirect || !b_->term.dest.valid()) return;
  const uint32_t end = b_->main_end();
  uint32_t check = kNone;
  for (uint32_t i = end; i-- > 0;) {
    const ir::Inst& in = b_->insts[i];
    if (in.dead) continue;
    if (in.op == Opcode::CheckCanonical) {
      if (!in.args[0].is_imm && in.args[0].v == b_->term.dest.id) check = i;
      break;
    }
  }
  if (check == kNone) return;
  uint32_t rsp_set = kNone, push = kNone;
  for (uint32_t i = check + 1; i < end; ++i) {
    const ir::Inst& in = b_->insts[i];
    if (in.dead) continue;
    if (in.op == Opcode::SetGpr && (in.args[0].v & 15) == RSP && rsp_set == kNone) {
      rsp_set = i;
      continue;
    }
    if (in.op == Opcode::Store64 && push == kNone && rsp_set == kNone) {
      push = i;
      continue;
    }
    if (passes::has_side_effects(in.op) || passes::is_sync_point(in.op)) return;
  }
  if (push != kNone) {
    if (!deferrable_push(check, push, rsp_set)) return;
    deferred_canonical_ = check;
    deferred_push_ = push;
    deferred_rsp_step_ = 0;
    return;
  }
  int64_t step = 0;
  if (rsp_set != kNone) {
    // rsp at the check: the last SetGpr of it before, else the block's read of it.
    uint32_t before = kNone;
    for (uint32_t i = check; i-- > 0;) {
      const ir::Inst& in = b_->insts[i];
      if (in.dead) continue;
      if (in.op == Opcode::Interpret || in.op == Opcode::RepString) return;
      if ((in.op == Opcode::SetGpr || in.op == Opcode::GetGpr) && (in.args[0].v & 15) == RSP) {
        before = in.op == Opcode::SetGpr ? uint32_t(in.args[1].v) : i;
        break;
      }
    }
    if (before == kNone || b_->insts[rsp_set].args[1].is_imm) return;
    auto [root, disp] = address_root(uint32_t(b_->insts[rsp_set].args[1].v));
    auto [root_before, disp_before] = address_root(before);
    step = disp - disp_before;
    if (root != root_before || step == 0 || step > 0x10008 || step < -0x10008) return;
  }
  deferred_canonical_ = check;
  deferred_rsp_step_ = int32_t(step);
}

// `call [mem]`/`call reg`: after its CheckCanonical, the push of a constant return address
// at the rsp read after the check minus 8, and rsp set to that address. Deferred (both the
// check and the push) when rsp in CpuState is still the call's own at the terminal: nothing in
// the block sets rsp before (so no newer value of it waits in a register), and the address is
// a register value (not folded into the store), which rsp's SetGpr keeps live to the end.
bool BlockEmitter::deferrable_push(uint32_t check, uint32_t push, uint32_t rsp_set) const {
  const ir::Inst& st = b_->insts[push];
  if (rsp_set == kNone || st.args[0].is_imm || b_->insts[rsp_set].args[1].is_imm) return false;
  if (b_->insts[rsp_set].args[1].v != st.args[0].v || folded_address(st.args[0].v)) return false;
  if (!st.args[1].is_imm && !is_const(st.args[1].v)) return false;
  auto [root, disp] = address_root(uint32_t(st.args[0].v));
  const ir::Inst& r = b_->insts[root];
  if (disp != -8 || r.op != Opcode::GetGpr || (r.args[0].v & 15) != RSP) return false;
  for (uint32_t i = 0; i < check; ++i)
    if (!b_->insts[i].dead && b_->insts[i].op == Opcode::SetGpr && (b_->insts[i].args[0].v & 15) == RSP)
      return false;
  return true;
}

// On the miss path, the guest state all in CpuState (flags lazy there; a deferred push not
// made yet).
void BlockEmitter::deferred_canonical_check(const Reg64& target) {
  Forward ok;
  mov(r11, target);
  shl(r11, 16);
  sar(r11, 16);
  cmp(r11, target);
  jcc_fwd(0x4, ok);  // je
  if (deferred_rsp_step_) sub(qword[rbx + kOffGpr + 8 * RSP], deferred_rsp_step_);
  if (target.getIdx() != rsi.getIdx()) mov(rsi, target);
  mov(rdi, rbx);
  mov(rdx, b_->insts[deferred_canonical_].guest_pc);
  mov(ecx, uint32_t(VEC_GP) << 8);
  mov(rax, uint64_t(rt_->range_fault_helper));
  call(rax);
  exit_with(kExitFault);
  land(ok);
}

// A call's push of its return address, made once the target is known canonical (a jump-cache
// hit, or the miss path's check): a near call to a non-canonical target is #GP(0) with nothing
// written (unless the push would fault: the CPU checks the stack first, and so does
// range_fault_helper, from CpuState's rsp, still the call's own). Everything but rsp is in
// CpuState already, so the push's sync record is the state before the call (nothing dirty),
// and its range check or host fault reports the push as before. Then rsp goes home.
void BlockEmitter::deferred_push(const Reg64& sp) {
  const ir::Inst& st = b_->insts[deferred_push_];
  uint32_t dirty[16];
  std::copy(std::begin(dirty_gpr_), std::end(dirty_gpr_), dirty);
  std::fill(std::begin(dirty_gpr_), std::end(dirty_gpr_), kNone);
  const uint32_t flags = std::exchange(dirty_flags_, kNone), base = std::exchange(base_flags_, kNone);
  const uint16_t xmm = std::exchange(xmm_dirty_, 0);
  const bool carried = std::exchange(carried_active_, false);
  const auto checked = checked_ranges_;  // (the other way out is not dominated by this check)
  guest_access(st, 0, true);
  const uint64_t c = st.args[1].is_imm ? st.args[1].v : const_of(st.args[1].v);
  if (int64_t(c) == int64_t(int32_t(c))) {
    mov(qword[r15 + sp], c);  // (sign-extended from 32)
  } else {
    mov(r11, c);
    mov(qword[r15 + sp], r11);
    out_->sync.back().host_end = uint32_t(getSize());  // (the record covers the store too)
  }
  checked_ranges_ = checked;
  std::copy(std::begin(dirty), std::end(dirty), dirty_gpr_);
  dirty_flags_ = flags;
  base_flags_ = base;
  xmm_dirty_ = xmm;
  carried_active_ = carried;
  store_gpr(RSP, sp);
}

void BlockEmitter::count_lookup(uint64_t* counter) {
  if (!rt_->count_insns || !counter) return;  // (only --stats reads it)
  mov(r11, uint64_t(counter));
  inc(qword[r11]);
}

void BlockEmitter::out_of_line() {
  if (!to_exit_request_.empty()) {
    for (uint32_t end : to_exit_request_) land(end);
    set_rip(b_->guest_pc);
    exit_with(kExitRequest);
  }
  if (!to_stale_.empty()) {
    for (uint32_t end : to_stale_) land(end);
    set_rip(b_->guest_pc);
    exit_with(kExitStale);
  }
  if (!to_leave_with_r11_.empty()) {
    for (uint32_t end : to_leave_with_r11_) land(end);
    enc::mov_rr(*this, Xbyak::Operand::EAX, Xbyak::Operand::R11D, false);
    enc::jmp_abs(*this, rt_->exit_stub);
  }
  for (size_t k = 0; k < side_exits_.size(); ++k) {
    land(side_exits_[k].jcc_end);
    write_back_for_exit(side_exits_[k].state, side_exits_[k].flags_pending);
    if (rt_->count_insns && side_exits_[k].skipped)  // (the entry counted the whole block)
      sub(qword[rbx + kOffInsnCount], int32_t(side_exits_[k].skipped));
    if (side_exits_[k].guess_miss) {  // (the dispatcher counts it: jit/cache/guess_sites.h)
      set_rip(side_exits_[k].target);
      enc::mov_r64_imm(*this, Xbyak::Operand::RDX, uint64_t(out_));
      exit_with(kExitGuessMiss);
      continue;
    }
    chainable_exit(side_exits_[k].target);
  }
  // (after the side exits: their chainable exits may add some)
  for (size_t k = 0; k < edge_requests_.size(); ++k) {
    land(edge_requests_[k].first);
    set_rip(edge_requests_[k].second);
    exit_with(kExitRequest);
  }
  for (size_t k = 0; k < link_slots_.size(); ++k) {
    rewrite(link_jmp_ends_[k] - 4, uint32_t(getSize() - link_jmp_ends_[k]), 4);
    link_slots_[k]->unlinked = const_cast<uint8_t*>(getCurr());
    if (rt_->link_exit) {  // (the trampoline takes the target pc from the slot)
      enc::mov_r64_imm(*this, Xbyak::Operand::RDX, uint64_t(link_slots_[k]));
      enc::jmp_abs(*this, rt_->link_exit);
      continue;
    }
    const uint64_t target = link_slots_[k]->target_pc;
    if (rt_->tlb_table && rt_->use_jump_cache && (target ^ b_->guest_pc) >> 12) {
      // System mode: a successor on another page is never chained (docs/jit.md), so its
      // exit looks the jump cache up first, as an indirect branch does (QEMU's
      // lookup_and_goto_ptr); the cache holds only blocks of the current translation.
      Xbyak::Label miss;
      mov(rax, target);
      mov(rdx, uint64_t(reinterpret_cast<uintptr_t>(rt_->jump_cache + CodeCache::jump_cache_index(target, CodeCache::kJumpCacheBits))));
      cmp(qword[rdx], rax);
      jne(miss);
      count_lookup(rt_->jump_cache_hits);
      jmp(qword[rdx + 8]);
      L(miss);
      count_lookup(rt_->jump_cache_misses);
    }
    set_rip(link_slots_[k]->target_pc);
    mov(rdx, uint64_t(link_slots_[k]));
    exit_with(kExitLink);
  }
  auto label = interpreter_exit_labels_.begin();
  for (size_t k = 0; k < interpreter_exits_.size(); ++k, ++label) {
    L(*label);
    write_back(interpreter_exits_[k].state);
    mov(rdi, rbx);
    mov(rsi, uint64_t(interpreter_exits_[k].insn));
    mov(rax, uint64_t(rt_->fallback_helper));
    call(rax);
    jmp(rt_->exit_stub, T_NEAR);
  }
  softmmu_slow_paths();
  for (const RangeFault& f : range_fault_info_) {
    rewrite(f.jcc_end - 4, uint32_t(getSize() - f.jcc_end), 4);
    if (f.access != RangeFault::kNoAccess) {
      if (f.recheck) {  // (the base failed the check: the address may not)
        lea(r11, ptr[Reg64(f.addr_reg) + f.recheck_disp]);
        enc::cmp_rr(*this, 11, kLimitReg);
        enc::jcc_abs(*this, 0x2, getCode() + f.access);  // jb: inside the window after all
        enc::push_r64(*this, 11);
      } else {
        enc::push_r64(*this, f.addr_reg);
      }
      enc::lea_rip(*this, Xbyak::Operand::R11, getCode() + f.access);
      enc::jmp_abs(*this, rt_->range_fault[f.write]);
      continue;
    }
    write_back(f.state);
    if (rt_->tlb_table) {  // system mode (a misaligned SSE operand): the interpreter raises it
      set_rip(f.pc);
      if (rt_->count_insns && f.skipped) sub(qword[rbx + kOffInsnCount], int32_t(f.skipped));
      exit_with(kExitInterpret);
      continue;
    }
    mov(rsi, Reg64(f.addr_reg));
    mov(rdi, rbx);
    mov(rdx, f.pc);
    mov(ecx, uint32_t(f.write) | (uint32_t(f.vector) << 8));
    mov(rax, uint64_t(rt_->range_fault_helper));
    call(rax);
    exit_with(kExitFault);
  }
  emit_exit_table();
}

void BlockEmitter::write_back(const SyncRecord& state) {
  for (auto [guest, host] : state.gprs) store_gpr(guest, Reg64(host));
  for (unsigned x = 0; x < 16; ++x)
    if (state.xmm_dirty & (1u << x)) movdqa(guest_xmm(x), Xbyak::Xmm(int(x)));
  if (state.ymm_hi_dirty) store_upper_halves(state.ymm_hi_dirty);  // (a loop that is one VEX run: emit_avx.cpp)
  if (state.flags_reg >= 0 || state.flags_recipe.op != FlagsRecipe::None) {
    // (a patched jz rel32, the encoding of Xbyak's near label, without a label's hash-table work)
    uint32_t cpu_flags = 0;
    if (state.flags_if >= 0) {  // (the first iteration of a loop that carries flags: CpuState's)
      test(Xbyak::Reg32(state.flags_if), Xbyak::Reg32(state.flags_if));
      cpu_flags = jcc_to_stub(0x4);  // jz
    }
    call(rt_->settle_flags);  // (rflags keeps the bits outside the mask)
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
    if (cpu_flags) land(cpu_flags);
  }
}

}  // namespace vireo::jit::x64_detail
