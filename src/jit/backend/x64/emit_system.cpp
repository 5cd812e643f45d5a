// Backend, system-mode stores outside guest memory (frontend/system.cpp): a CpuState qword
// (SWAPGS exchanging GS.base with KernelGSBase) and a dword of the engine's own state at a
// fixed host address (the after-block word STI and POPFQ leave for the dispatcher). Neither
// can fault.
#include "jit/backend/x64/block_emitter.h"

namespace vireo::jit::x64_detail {

using namespace Xbyak::util;

void BlockEmitter::system_store(const ir::Inst& in) {
  const Xbyak::Reg64 v = val(in.args[1].v);
  if (in.op == Opcode::SetCpuField) {
    mov(qword[rbx + int(in.args[0].v)], v);
  } else {  // StoreHost32
    mov(r11, in.args[0].v);
    mov(dword[r11], v.cvt32());
  }
}

// CMPXCHG16B's operand must be 16-byte aligned (#GP(0)): a misaligned one leaves the block
// through a range-fault stub, which in system mode hands the instruction to the interpreter
// (it raises the #GP), as a misaligned SSE operand does.
void BlockEmitter::check_aligned16(const ir::Inst& in) {
  const Xbyak::Reg64 a = val(in.args[0].v);
  test(a.cvt8(), 15);
  gp_check_stub(a, in, true, jcc_to_stub(0x5));  // jnz
}

void BlockEmitter::gp_check_stub(const Xbyak::Reg64& a, const ir::Inst& in, bool write, uint32_t jcc) {
  range_fault_info_.push_back({a.getIdx(), in.guest_pc, write, snapshot(), VEC_GP});
  RangeFault& f = range_fault_info_.back();
  f.jcc_end = jcc;
  // (every emitted op is b_->insts[i]; the interpreter runs this one, so it is not given back)
  f.skipped = insns_counted_from(uint32_t(&in - b_->insts.data()));
}

}  // namespace vireo::jit::x64_detail
