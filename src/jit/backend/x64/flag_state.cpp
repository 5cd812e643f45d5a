// BlockEmitter, lazy flags: where uncomputed guest flags live, and how they reach CpuState.
#include "jit/backend/x64/block_emitter.h"

namespace vireo::jit::x64_detail {

FlagsRecipe BlockEmitter::recipe(uint64_t f) const {
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

void BlockEmitter::flags_to_r11(uint64_t f) {
  if (lazy(f)) {
    emit_flags_recipe(*this, recipe(f));
    pushfq();
    pop(r11);
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
  flags_to_r11(f);
  and_(r11, uint32_t(mask));
  and_(qword[rbx + kOffFlags], int32_t(~uint32_t(mask)));
  or_(qword[rbx + kOffFlags], r11);
  if (all && cpu_flags_pending_) {  // overwritten: the older lazy flags are dead
    mov(word[rbx + kOffLazyOp], 0);     // (both layers)
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
  cmp(word[rbx + kOffLazyOp], 0);  // either layer
  je(done);
  call(rt_.settle_flags);
  L(done);
  cpu_flags_pending_ = false;
}

bool BlockEmitter::leave_flags_lazy() {
  if (dirty_flags_ == kNone || !lazy(dirty_flags_)) return false;
  FlagsRecipe base = base_flags_ != kNone ? recipe(base_flags_) : FlagsRecipe{};
  if (!store_flags_lazily(recipe(dirty_flags_), dirty_flags_mask_, base)) return false;
  dirty_flags_ = base_flags_ = kNone;
  return true;
}

bool BlockEmitter::store_flags_lazily(const FlagsRecipe& r, uint64_t mask, const FlagsRecipe& base) {
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

void BlockEmitter::store_lazy_operands(const FlagsRecipe& r) {
  mov(qword[rbx + kOffLazyA], Reg64(r.a));
  if (r.op != FlagsRecipe::Logic) {
    if (r.b >= 0) mov(qword[rbx + kOffLazyB], Reg64(r.b));
    else mov(qword[rbx + kOffLazyB], sized_imm(r.imm, r.size));
  }
}

void BlockEmitter::set_flags_lazy(uint64_t mask, uint32_t f, uint32_t now) {
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

void BlockEmitter::merge_flags_into(const Reg64& d, uint32_t f, uint64_t mask) {
  flags_to_r11(f);
  and_(r11, uint32_t(mask));
  and_(d, int32_t(~uint32_t(mask)));
  or_(d, r11);
}

}  // namespace vireo::jit::x64_detail
