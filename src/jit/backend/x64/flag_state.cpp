// BlockEmitter, lazy flags: where uncomputed guest flags live, and how they reach CpuState.
#include "jit/backend/x64/block_emitter.h"

namespace vireo::jit::x64_detail {

// Both layers' codes at once (lazy_flags_op, then lazy_incdec_op), as a dword whose upper half
// lands in the padding before lazy_flags_a and is always 0: `mov word [rbx + off], imm16` has a
// length-changing prefix (66h with an imm16), which stalls the host's legacy decoder for ~3
// cycles every time the instruction is decoded outside the uop cache, and a program with
// megabytes of hot translated code (python's) runs largely from the legacy decoder. One byte
// more. (An exit's lazy flags store this, 17,000 times in python's translated code.)
static_assert(offsetof(CpuState, lazy_flags_a) >= kOffLazyOp + 4, "the lazy codes' dword store writes only padding");
void BlockEmitter::store_lazy_codes(uint16_t codes) { enc::mov_cpu_imm(*this, 4, kOffLazyOp, codes); }

FlagsRecipe BlockEmitter::recipe(uint64_t f) const {
  const ir::Inst& in = b_->insts[f];
  FlagsRecipe r;
  if (in.op == Opcode::FlagsShift) {  // desc = kind | size << 8 | count << 16
    const uint64_t desc = in.args[0].v;
    r.op = FlagsRecipe::Op(FlagsRecipe::Shl + (desc & 0xFF));  // (ShiftKind's order)
    r.size = uint8_t(desc >> 8);
    r.imm = (desc >> 16) & 0xFF;
    r.a = int8_t(val(in.args[1].v).getIdx());
    return r;
  }
  switch (in.op) {
    case Opcode::FlagsAdd: r.op = FlagsRecipe::Add; break;
    case Opcode::FlagsSub: r.op = FlagsRecipe::Sub; break;
    case Opcode::FlagsLogic: r.op = FlagsRecipe::Logic; break;
    case Opcode::FlagsInc: r.op = FlagsRecipe::Inc; break;
    case Opcode::FlagsImul: r.op = FlagsRecipe::Imul; break;
    default: r.op = FlagsRecipe::Dec; break;
  }
  bool two = r.op == FlagsRecipe::Add || r.op == FlagsRecipe::Sub || r.op == FlagsRecipe::Imul;
  r.size = uint8_t(in.args[two ? 2 : 1].v);
  r.a = int8_t(val(in.args[0].v).getIdx());
  if (two && imm_arg(in, 1)) r.imm = const_of(in.args[1].v);
  else if (two) r.b = int8_t(val(in.args[1].v).getIdx());
  return r;
}

namespace {
// r11 = the host's CF and OF where rflags has them (bit 0, bit 11), for a reader that masks
// the rest (bits 1 and 10 are set too). pushfq is microcoded: ~1.5-2 ns a time on this host
// (EPYC) against these four simple instructions, and a guest JIT's `xor; rol; ret` functions
// captured their rotate's CF and OF with it at every call (bench codegen: 40 million times).
void cf_of_to_r11(Xbyak::CodeGenerator& g) {
  using Xbyak::util::r11b, Xbyak::util::r11d;
  g.seto(r11b);
  g.movzx(r11d, r11b);        // (neither writes the flags)
  g.adc(r11d, r11d);          // 2 * OF + CF
  g.imul(r11d, r11d, 0x401);  // (2 * OF + CF) * (1 + 1024): CF at bit 0, OF at bit 11
}
}  // namespace

void BlockEmitter::flags_to_r11(uint64_t f, uint64_t mask) {
  if (lazy(f)) {
    emit_flags_recipe(*this, recipe(f));
    if (!(mask & ~(flag::CF | flag::OF))) {
      cf_of_to_r11(*this);
    } else {
      pushfq();
      pop(r11);
    }
  } else {
    mov(r11, val(f));
  }
}

void BlockEmitter::materialize(uint32_t f, uint32_t now) {
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

void BlockEmitter::store_flags(uint32_t f, uint64_t mask) {
  bool all = (mask & flag::ARITH) == flag::ARITH;
  if (!all) settle_cpu_flags();  // the bits kept must be the lazy ones' results
  flags_to_r11(f, mask);
  and_(r11, uint32_t(mask));
  and_(qword[rbx + kOffFlags], int32_t(~uint32_t(mask)));
  or_(qword[rbx + kOffFlags], r11);
  if (all && cpu_flags_pending_) {  // overwritten: the older lazy flags are dead
    store_lazy_codes(0);  // (both layers)
    cpu_flags_pending_ = false;
  }
}

void BlockEmitter::flush_base_flags(uint32_t now) {
  store_flags(base_flags_, flag::ARITH);
  unpin_flags(base_flags_, now);
  base_flags_ = kNone;
}

void BlockEmitter::settle_cpu_flags() {
  if (!cpu_flags_pending_) return;
  Xbyak::Label done;
  enc::cmp_cpu_imm(*this, 2, kOffLazyOp, 0);  // either layer
  je(done);
  call(rt_->settle_flags);
  L(done);
  cpu_flags_pending_ = false;
}

bool BlockEmitter::leave_flags_lazy() {
  if (dirty_flags_ == kNone) return false;
  if (!lazy(dirty_flags_)) {
    if (base_flags_ != kNone ||
        !store_flags_value(val(dirty_flags_), dirty_flags_mask_, cpu_flags_pending_))
      return false;
    dirty_flags_ = kNone;
    return true;
  }
  FlagsRecipe base = base_flags_ != kNone ? recipe(base_flags_) : FlagsRecipe{};
  if (!store_flags_lazily(recipe(dirty_flags_), dirty_flags_mask_, base, cpu_flags_pending_)) {
    // (a rotate's CF and OF: computed now, left as a value)
    if (base_flags_ != kNone || !lazy_partial_code(dirty_flags_mask_) || (dirty_flags_mask_ & ~flag::ARITH))
      return false;
    store_flags_value(r11, dirty_flags_mask_, cpu_flags_pending_, dirty_flags_);
  }
  dirty_flags_ = base_flags_ = kNone;
  return true;
}

bool BlockEmitter::store_flags_lazily(const FlagsRecipe& r, uint64_t mask, const FlagsRecipe& base,
                                      bool pending) {
  const bool has_base = base.op != FlagsRecipe::None;
  if (leaves_lazy_flags(r.op) && mask == flag::ARITH && !has_base) {
    store_lazy_codes(lazy_flags_code(r.op, r.size));  // (no inc/dec layer)
    store_lazy_operands(r);
    return true;
  }
  if (has_base && mask == (flag::CF | flag::OF) && leaves_lazy_flags(base.op)) {
    // A CF|OF write (an imul, a rotate) over this block's own full flags (an xor before a
    // rol): both layers at once, so no older flags need settling. An imul stays a recipe; a
    // rotate's CF and OF are computed now and left as a value.
    if (r.op == FlagsRecipe::Imul) {
      store_lazy_codes(lazy_flags_code(base.op, base.size) | lazy_imul_code(r.size) << 8);
      emit_cpu_mov(*this, false, kOffIncDecA, Reg64(r.a));
      if (r.b >= 0) emit_cpu_mov(*this, false, kOffIncDecB, Reg64(r.b));
      else enc::mov_cpu_imm(*this, 8, kOffIncDecB, uint32_t(sized_imm(r.imm, r.size)));
    } else {
      emit_flags_recipe(*this, r);
      cf_of_to_r11(*this);
      store_lazy_codes(lazy_flags_code(base.op, base.size) | kLazyPartialCfOf << 8);
      emit_cpu_mov(*this, false, kOffIncDecA, r11);
    }
    store_lazy_operands(base);
    return true;
  }
  if (r.op == FlagsRecipe::Imul && mask == (flag::CF | flag::OF) && !has_base) {
    // The second layer, over the first (as a CF|OF value is): it covers an older CF|OF or CF
    // code there, not an inc/dec's flags (those go to rflags first).
    if (pending) {
      Xbyak::Label free;
      enc::cmp_cpu_imm(*this, 1, kOffIncDecOp, kLazyIncDecCodes);
      ja(free);
      enc::cmp_cpu_imm(*this, 1, kOffIncDecOp, 0);
      je(free);
      call(rt_->settle_flags);
      L(free);
    }
    enc::mov_cpu_imm(*this, 1, kOffIncDecOp, lazy_imul_code(r.size));
    emit_cpu_mov(*this, false, kOffIncDecA, Reg64(r.a));
    if (r.b >= 0) emit_cpu_mov(*this, false, kOffIncDecB, Reg64(r.b));
    else enc::mov_cpu_imm(*this, 8, kOffIncDecB, uint32_t(sized_imm(r.imm, r.size)));
    return true;
  }
  if (!is_inc_dec(r.op) || mask != kIncDecFlags) return false;
  uint8_t code = lazy_incdec_code(r.op, r.size);
  if (has_base) {
    store_lazy_codes(lazy_flags_code(base.op, base.size) | code << 8);
    store_lazy_operands(base);
  } else {
    // (CF stays CpuState's.) An older inc/dec in the second layer is covered; a CF|OF or CF
    // code there (an imul's) is not: it goes to rflags first. Nothing is there unless an
    // earlier block's flags may still be pending.
    if (pending) {
      Xbyak::Label covered;
      enc::cmp_cpu_imm(*this, 1, kOffIncDecOp, kLazyIncDecCodes);
      jbe(covered);
      call(rt_->settle_flags);
      L(covered);
    }
    enc::mov_cpu_imm(*this, 1, kOffIncDecOp, code);
  }
  emit_cpu_mov(*this, false, kOffIncDecA, Reg64(r.a));
  return true;
}

bool BlockEmitter::store_flags_value(const Reg64& d, uint64_t mask, bool pending, uint32_t lazy_f) {
  if (mask == flag::ARITH) {  // all six: the first layer, the second one cleared
    if (lazy_f != kNone) flags_to_r11(lazy_f);
    store_lazy_codes(kLazyFlagsValue);
    emit_cpu_mov(*this, false, kOffLazyA, d);
    return true;
  }
  const uint8_t code = lazy_partial_code(mask);
  if (!code || (mask & ~flag::ARITH)) return false;
  if (pending) {
    // The second layer must be empty or hold a code this one covers: not an inc/dec's flags;
    // a CF|OF value covers any CF|OF or CF code (an imul's), a CF value only a CF value.
    Xbyak::Label free;
    if (code == kLazyPartialCfOf) {
      enc::cmp_cpu_imm(*this, 1, kOffIncDecOp, kLazyIncDecCodes);
      ja(free);
    } else {
      enc::cmp_cpu_imm(*this, 1, kOffIncDecOp, code);
      je(free);
    }
    enc::cmp_cpu_imm(*this, 1, kOffIncDecOp, 0);
    je(free);
    call(rt_->settle_flags);  // (clobbers r11)
    L(free);
  }
  if (lazy_f != kNone) flags_to_r11(lazy_f, mask);  // (after the call)
  enc::mov_cpu_imm(*this, 1, kOffIncDecOp, code);  // (over the first layer, or rflags)
  emit_cpu_mov(*this, false, kOffIncDecA, d);
  return true;
}

void BlockEmitter::store_lazy_operands(const FlagsRecipe& r) {
  emit_cpu_mov(*this, false, kOffLazyA, Reg64(r.a));
  if (is_shift(r.op)) {
    enc::mov_cpu_imm(*this, 8, kOffLazyB, uint32_t(int32_t(r.imm)));  // the count
  } else if (r.op != FlagsRecipe::Logic) {
    if (r.b >= 0) emit_cpu_mov(*this, false, kOffLazyB, Reg64(r.b));
    else enc::mov_cpu_imm(*this, 8, kOffLazyB, uint32_t(sized_imm(r.imm, r.size)));
  }
}

void BlockEmitter::set_flags_lazy(uint64_t mask, uint32_t f, uint32_t now) {
  pin_flags(f);  // first: the old value may share operands with it
  const bool inc_dec = mask == kIncDecFlags && lazy(f) && is_inc_dec(recipe(f).op);
  // A write of CF and OF only (an imul, a rotate) keeps a full lazy layer under it as inc/dec
  // does: the block's exit leaves both layers (store_flags_lazily), and the flags before them
  // need no settling. (The `xor; rol` of a guest JIT's function called settle_flags at every
  // call: 13% of bench codegen.)
  const bool cf_of = mask == (flag::CF | flag::OF) && lazy(f);
  // (The older flags' CF and OF are often dead already, their SetFlags narrowed to the other
  // four: the base layer then writes its own CF and OF, which this write covers.)
  const bool base_under_cf_of = cf_of && dirty_flags_ != kNone && lazy(dirty_flags_) &&
                                leaves_lazy_flags(recipe(dirty_flags_).op) &&
                                !(dirty_flags_mask_ & ~flag::ARITH) &&
                                ((dirty_flags_mask_ | mask) & flag::ARITH) == flag::ARITH;
  if (dirty_flags_ != kNone) {
    if (base_flags_ == kNone &&
        ((inc_dec && can_be_base(dirty_flags_, dirty_flags_mask_)) || base_under_cf_of)) {
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
    } else if (!inc_dec && !(cf_of && dirty_flags_mask_ == mask)) {  // (CF|OF over CF|OF: the base stays)
      flush_base_flags(now);
    }
  }
  dirty_flags_ = f;
  dirty_flags_mask_ = mask;
}

void BlockEmitter::merge_flags_into(const Reg64& d, uint32_t f, uint64_t mask) {
  flags_to_r11(f, mask);
  and_(r11, uint32_t(mask));
  and_(d, int32_t(~uint32_t(mask)));
  or_(d, r11);
}

bool BlockEmitter::plan_carried_flags() {
  if (!allow_carried_flags_ || !self_loop_ || dead_at_head_flags_ || rt_->tlb_table || b_->tail.present())
    return false;
  // From the head to the first full flags write: nothing may read the flags or leave the
  // block but a fault at an access (its sync record or its write_back know the indicator).
  const uint32_t end = b_->main_end();
  bool written = false;
  for (uint32_t i = 0; i < end && !written; ++i) {
    const ir::Inst& in = b_->insts[i];
    if (in.dead) continue;
    switch (in.op) {
      case Opcode::SetFlags:
        if ((in.args[0].v & flag::ARITH) != flag::ARITH) return false;  // (an inc/dec layer)
        written = true;
        break;
      case Opcode::GetFlags: case Opcode::ExitIf: case Opcode::Interpret: case Opcode::RepString:
      case Opcode::Div: case Opcode::TailStart:
        return false;
      default: break;
    }
  }
  if (!written) return false;
  // The flags at the back edge: the block's last flags write, all six, add/sub/logic.
  uint32_t last = kNone;
  unsigned hoisted_of[16];
  uint32_t final_of[16];
  std::fill(std::begin(hoisted_of), std::end(hoisted_of), kNone);
  std::fill(std::begin(final_of), std::end(final_of), kNone);
  for (uint32_t i = 0; i < end; ++i) {
    const ir::Inst& in = b_->insts[i];
    if (in.dead) continue;
    const unsigned r = unsigned(in.args[0].v & 15);
    if (in.op == Opcode::SetFlags) last = i;
    else if (in.op == Opcode::SetGpr) final_of[r] = uint32_t(in.args[1].v);
    else if (in.op == Opcode::GetGpr && hoisted_[i]) hoisted_of[r] = i;
  }
  const ir::Inst& set = b_->insts[last];
  if (set.args[0].v != flag::ARITH) return false;
  const uint32_t f = uint32_t(set.args[1].v);
  const ir::Inst& fl = b_->insts[f];
  if (fl.op != Opcode::FlagsAdd && fl.op != Opcode::FlagsSub && fl.op != Opcode::FlagsLogic) return false;
  const int n = fl.op == Opcode::FlagsLogic ? 1 : 2;
  carried_imm_ = false;
  for (int k = 0; k < n; ++k) {
    const uint32_t v = uint32_t(fl.args[k].v);
    if (k == 1 && is_const(v)) {
      carried_imm_ = true;
      continue;
    }
    // The guest register whose loop register the back edge gives this value.
    bool found = false;
    for (unsigned r = 0; r < 16 && !found; ++r) {
      if (hoisted_of[r] == kNone) continue;
      const uint32_t at_end = final_of[r] != kNone ? final_of[r] : hoisted_of[r];
      if (at_end == v) {
        carried_gpr_[k] = r;
        carried_hoisted_[k] = hoisted_of[r];
        found = true;
      }
    }
    if (!found) return false;
  }
  carried_flags_ = f;
  return true;
}

void BlockEmitter::start_carried_flags() {
  // A callee-saved register of the pool (helper calls keep it), free at the head and never
  // given out. (Taken from kPool, not named here: a reserved register is never one. r14 was
  // named here when it left the pool to hold the window's limit, and a loop that carried its
  // flags in it zeroed the limit: its range checks then let addresses past the window through,
  // a host SIGSEGV in threads.*.fork_exec_threads about 1 run in 100.) (A peeled loop needs
  // none: its copies say which iteration they run.)
  for (int r : kPool)
    if (!caller_saved(r) && !peel_ && !(used_ & (1u << r))) {
      carried_ind_ = r;
      break;
    }
  if (carried_ind_ < 0 && !peel_) {
    carried_flags_ = kNone;
    return;
  }
  if (carried_ind_ >= 0) {
    used_ |= 1u << carried_ind_;
    owner_[carried_ind_] = kNone;
    ++pins_[carried_ind_];
    xor_(Xbyak::Reg32(carried_ind_), Xbyak::Reg32(carried_ind_));  // the first iteration: CpuState's
  }
  const ir::Inst& fl = b_->insts[carried_flags_];
  carried_ = FlagsRecipe{};
  carried_.op = fl.op == Opcode::FlagsAdd ? FlagsRecipe::Add : fl.op == Opcode::FlagsSub ? FlagsRecipe::Sub
                                                                                         : FlagsRecipe::Logic;
  const bool two = carried_.op != FlagsRecipe::Logic;
  carried_.size = uint8_t(fl.args[two ? 2 : 1].v);
  carried_.a = int8_t(reg_of_[carried_hoisted_[0]]);
  pin(carried_hoisted_[0]);
  if (two && carried_imm_) {
    carried_.imm = const_of(fl.args[1].v);
  } else if (two) {
    carried_.b = int8_t(reg_of_[carried_hoisted_[1]]);
    pin(carried_hoisted_[1]);
  }
  carried_active_ = true;
}

void BlockEmitter::end_carried_flags(uint32_t now) {
  if (!carried_active_) return;
  carried_active_ = false;
  unpin(carried_hoisted_[0], now);
  if (carried_.op != FlagsRecipe::Logic && !carried_imm_) unpin(carried_hoisted_[1], now);
}

bool BlockEmitter::carries_flags_now() const {
  if (!carrying() || carried_active_ || dirty_flags_ != carried_flags_ || base_flags_ != kNone ||
      dirty_flags_mask_ != flag::ARITH || !lazy(dirty_flags_))
    return false;
  // Each operand is the value the back edge moves into its guest register's loop register.
  const ir::Inst& fl = b_->insts[carried_flags_];
  const int n = carried_.op == FlagsRecipe::Logic ? 1 : carried_imm_ ? 1 : 2;
  for (int k = 0; k < n; ++k) {
    const unsigned r = carried_gpr_[k];
    if (loop_reg_[r] < 0 || dirty_gpr_[r] != uint32_t(fl.args[k].v)) return false;
  }
  return true;
}

}  // namespace vireo::jit::x64_detail
