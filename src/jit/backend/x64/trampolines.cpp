#include <sys/mman.h>

#include <xbyak/xbyak.h>

#include <cstddef>
#include <stdexcept>

#include "cpu/cpu_state.h"
#include "jit/backend/x64/emitter.h"

namespace vireo::jit {

using namespace Xbyak::util;

Trampolines make_trampolines() {
  void* mem = mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) throw std::runtime_error("cannot allocate JIT trampolines");
  struct Gen : Xbyak::CodeGenerator {
    uint8_t* exit_stub;
    explicit Gen(void* m) : Xbyak::CodeGenerator(4096, m) {
      // enter(rdi = cpu, rsi = guest_base, rdx = code, rcx = link_out)
      push(rbp); push(rbx); push(r12); push(r13); push(r14); push(r15);
      push(rcx);  // 7 pushes after the return address: rsp is 16-byte aligned in blocks
      mov(rbx, rdi);
      mov(r15, rsi);
      // Translated SSE code runs under the guest's MXCSR (the dispatcher only enters with all
      // exceptions masked); the exit stub saves it back and restores the host's.
      ldmxcsr(dword[rbx + int(offsetof(CpuState, mxcsr))]);
      jmp(rdx);
      align(16);
      exit_stub = const_cast<uint8_t*>(getCurr());
      stmxcsr(dword[rbx + int(offsetof(CpuState, mxcsr))]);
      push(0x1F80);  // the host's default MXCSR
      ldmxcsr(dword[rsp]);
      add(rsp, 8);
      pop(rcx);
      mov(qword[rcx], rdx);
      pop(r15); pop(r14); pop(r13); pop(r12); pop(rbx); pop(rbp);
      ret();
    }
  } g(mem);
  g.ready();
  return {reinterpret_cast<Trampolines::EnterFn>(mem), g.exit_stub};
}

}  // namespace vireo::jit
