// BlockEmitter's guest memory accesses (block_emitter.h): an operand's address folded into a
// base and displacement; user mode's window range check, skipped where the block already
// checked an address close enough to the same root (and its alignment check likewise); the
// locked read-modify-writes; and the host operand of an SSE instruction's memory form.
// System mode's accesses go through the softmmu lookup instead (memory_softmmu.cpp).
#include "jit/backend/x64/block_emitter.h"
#include "jit/backend/x64/emit_sse.h"
#include "jit/passes/passes.h"

namespace vireo::jit::x64_detail {

std::pair<uint32_t, int64_t> BlockEmitter::base_and_displacement(uint32_t v) const {
  const ir::Inst& d = b_->insts[v];
  if (d.op == Opcode::Add && !d.args[0].is_imm && !d.args[1].is_imm) {
    for (int k = 0; k < 2; ++k)
      if (is_const(d.args[k].v) && !is_const(d.args[1 - k].v))
        return {uint32_t(d.args[1 - k].v), int64_t(const_of(d.args[k].v))};
  }
  return {v, 0};
}

std::pair<uint32_t, int64_t> BlockEmitter::address_root(uint32_t v) const {
  // A chain of constant steps: push after push (rsp - 8, - 16, ...), [rsp + 8] after `sub rsp,
  // 0x58`, ret's pop. Each value is a fixed number (SSA), whether its register lives or not.
  int64_t disp = 0;
  for (int depth = 0; depth < 64; ++depth) {
    const ir::Inst& d = b_->insts[v];
    if (d.op != Opcode::Add && d.op != Opcode::Sub) break;
    auto constant = [&](int k, int64_t& c) {
      if (d.args[k].is_imm) c = int64_t(d.args[k].v);
      else if (is_const(d.args[k].v)) c = int64_t(const_of(d.args[k].v));
      else return false;
      return true;
    };
    int64_t c = 0;
    int k = -1;
    if (constant(1, c)) k = 0;
    else if (d.op == Opcode::Add && constant(0, c)) k = 1;
    if (k < 0 || d.args[k].is_imm || is_const(d.args[k].v)) break;
    if (d.op == Opcode::Sub) c = -c;
    if (c > (int64_t(1) << 31) || c < -(int64_t(1) << 31)) break;  // (the sum stays far from overflow)
    disp += c;
    v = uint32_t(d.args[k].v);
  }
  return {v, disp};
}

bool BlockEmitter::range_already_checked(uint32_t v) {
  auto [base, disp] = address_root(v);
  const uint64_t reach = rt_->mem->guard > 64 ? rt_->mem->guard - 64 : 0;
  for (auto [b, d] : checked_ranges_)
    if (b == base && (disp >= d ? uint64_t(disp - d) : uint64_t(d - disp)) <= reach) return true;
  checked_ranges_.emplace_back(base, disp);
  return false;
}

// An address the IR bounds below the window's end (a constant, a table at a constant address
// indexed by a narrow value) cannot fail the check: the window's limit is fixed for the life
// of the guest memory the block is translated for. An access running past the end from such
// an address still faults in the guard, as one covered by an earlier check does.
bool BlockEmitter::below_window_end(uint32_t v) const {
  return passes::upper_bound(*b_, v) < rt_->mem->limit;
}

bool BlockEmitter::alignment_already_checked(uint32_t v) {
  auto [base, disp] = address_root(v);
  for (auto [b, d] : checked_alignments_)
    if (b == base && ((disp - d) & 15) == 0) return true;
  checked_alignments_.emplace_back(base, disp);
  return false;
}

void BlockEmitter::guest_access(const ir::Inst& in, int k, bool write) {
  if (rt_->tlb_table) return softmmu_access(in, k, write);
  if (range_already_checked(uint32_t(in.args[k].v)) || (copy_ == 1 && induction_covered(uint32_t(in.args[k].v))) ||
      below_window_end(uint32_t(in.args[k].v))) {
    out_->sync.push_back(snapshot());
    return;
  }
  // A folded address x + c within the guards' reach of x is checked as x: x < limit puts
  // x + c below limit + guard (or at worst a guard below 0), where the host faults as the
  // guest does, the argument range_already_checked makes for a nearby check. Only x >= limit
  // can fail where x + c would pass (x + c wrapping, or c < 0): the stub computes x + c and,
  // when that is inside the window, goes back to the access (RangeFault::recheck). Other
  // folded addresses are computed and checked in r11 (the stub pushes it before it uses r11).
  Reg64 addr = r11;
  int32_t recheck_disp = 0;
  bool recheck = false;
  const uint64_t v = in.args[k].v;
  if (folded_[v] && is_const(v)) {
    mov(r11, int64_t(int32_t(const_of(v))));
  } else if (folded_address(v)) {
    auto [x, c] = base_and_displacement(uint32_t(v));
    const uint64_t reach = rt_->mem->guard > 64 ? rt_->mem->guard - 64 : 0;
    if (folded_[x]) {  // (i << s) + c
      const GuestOperand a = guest_index(v);
      lea(r11, ptr[Reg64(a.index) * a.scale + a.disp]);
    } else if (rt_->range_fault[write] && uint64_t(c < 0 ? -c : c) <= reach) {
      addr = val(x);
      recheck_disp = int32_t(c);
      recheck = true;
    } else {
      lea(r11, ptr[val(x) + int32_t(c)]);
    }
  } else {
    addr = val(in.args[k].v);
  }
  enc::cmp_rr(*this, addr.getIdx(), kLimitReg);
  const uint32_t jcc = jcc_to_stub(0x3);  // jae
  SyncRecord rec = snapshot();
  // (cmpxchg rewrites its record after this point: rax parked in r11)
  if (rt_->range_fault[write] && in.op != Opcode::AtomicCmpXchg)
    range_fault_info_.push_back({addr.getIdx(), in.guest_pc, write, {}, VEC_PF, rec.host_offset});
  else
    range_fault_info_.push_back({addr.getIdx(), in.guest_pc, write, rec, VEC_PF});
  range_fault_info_.back().jcc_end = jcc;
  range_fault_info_.back().recheck = recheck;
  range_fault_info_.back().recheck_disp = recheck_disp;
  out_->sync.push_back(std::move(rec));
}

// A locked read-modify-write: the host's own locked instruction on the guest address, so
// that it is atomic with respect to the other guest threads (which run translated code or the
// interpreter's locked path, interp/locked.cpp). The old value ends in d, zero-extended.
void BlockEmitter::atomic(const ir::Inst& in, const Reg64& d) {
  auto A = [&](int k) { return val(in.args[k].v); };
  const unsigned size = unsigned(in.args[in.nargs - 1].v);
  const Xbyak::AddressFrame& frame = size == 1 ? byte : size == 2 ? word : size == 4 ? dword : qword;
  auto zero_extend = [&](const Reg64& r) {
    if (size == 1) movzx(r.cvt32(), r.cvt8());
    else if (size == 2) movzx(r.cvt32(), r.cvt16());
    else if (size == 4) mov(r.cvt32(), r.cvt32());
  };
  if (in.op != Opcode::AtomicCmpXchg) {
    copy(d, A(1));
    guest_access(in, 0, true);
    if (in.op == Opcode::AtomicXadd) {
      lock();
      xadd(frame[r15 + A(0)], sized(d, size));
    } else {
      xchg(frame[r15 + A(0)], sized(d, size));  // (xchg with memory is locked by itself)
    }
    zero_extend(d);
    return;
  }
  // cmpxchg compares with rax and leaves the old value there: whatever rax holds is parked in
  // r11 meanwhile, and the sync record of the access says so.
  const Reg64 addr = A(0), expected = A(1), desired = A(2);
  auto moved = [this](const Reg64& r) { return r.getIdx() == 0 ? r11 : r; };
  guest_access(in, 0, true);
  mov(r11, rax);
  if (expected.getIdx() != 0) mov(rax, expected);
  SyncRecord& rec = out_->sync.back();
  rec.host_offset = uint32_t(getSize());
  for (auto& [guest, host] : rec.gprs)
    if (host == 0) host = 11;
  if (rec.flags_reg == 0) rec.flags_reg = 11;
  for (FlagsRecipe* r : {&rec.flags_recipe, &rec.base_recipe}) {
    if (r->a == 0) r->a = 11;
    if (r->b == 0) r->b = 11;
  }
  lock();
  cmpxchg(frame[r15 + moved(addr)], sized(moved(desired), size));
  if (d.getIdx() == 0) {  // (then nothing else lived in rax)
    zero_extend(d);
    return;
  }
  mov(d, rax);
  zero_extend(d);
  mov(rax, r11);
}

Xbyak::Address BlockEmitter::guest_mem(const ir::Inst& in, int k, const SseBits& f, bool write) {
  const Reg64 addr = val(in.args[k].v);
  if (f.align && !induction_aligned(uint32_t(in.args[k].v), 16) && !alignment_already_checked(uint32_t(in.args[k].v))) {
    test(addr.cvt8(), 15);
    gp_check_stub(addr, in, write, jcc_to_stub(0x5));  // jnz
  }
  guest_access(in, k, write);
  return ptr[r15 + addr];
}

}  // namespace vireo::jit::x64_detail
