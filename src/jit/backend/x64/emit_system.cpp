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

}  // namespace vireo::jit::x64_detail
