#include <sys/mman.h>

#include <xbyak/xbyak.h>
#include <xbyak/xbyak_util.h>

#include <cstddef>
#include <stdexcept>

#include "cpu/cpu_state.h"
#include "jit/backend/x64/emit_alu.h"
#include "jit/backend/x64/emitter.h"
#include "jit/cache/code_cache.h"
#include "jit/runtime/helpers.h"

namespace vireo::jit {

using namespace Xbyak::util;

Trampolines make_trampolines(void* mem) {
  struct Gen : Xbyak::CodeGenerator {
    uint8_t* exit_stub;
    Xbyak::Label limit;
    // (not into the page's note: code_cache.h)
    explicit Gen(void* m) : Xbyak::CodeGenerator(CodeCache::kTrampolineCodeBytes, m) {
      // enter(rdi = cpu, rsi = guest_base, rdx = code, rcx = link_out)
      push(rbp); push(rbx); push(r12); push(r13); push(r14); push(r15);
      push(rcx);  // 7 pushes after the return address: rsp is 16-byte aligned in blocks
      mov(rbx, rdi);
      mov(r15, rsi);
      mov(r14, ptr[rip + limit]);  // (range checks compare with r14: block_emitter.h, kLimitReg)
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
      align(16);
      settle_flags = const_cast<uint8_t*>(getCurr());
      settle();
      align(8);
      L(limit);
      window_limit = reinterpret_cast<uint64_t*>(const_cast<uint8_t*>(getCurr()));
      dq(0);
      align(16);
      link_exit = const_cast<uint8_t*>(getCurr());
      mov(r11, qword[rdx + int(offsetof(ExitSlot, target_pc))]);
      mov(qword[rbx + int(offsetof(CpuState, rip))], r11);
      mov(eax, uint32_t(kExitLink));
      jmp(static_cast<const void*>(exit_stub), T_NEAR);
      for (int write = 0; write < 2; ++write) {
        align(16);
        range_fault[write] = const_cast<uint8_t*>(getCurr());
        unwind_range_fault(write);
      }
    }
    uint8_t* range_fault[2];
    uint8_t* link_exit;
    // [rsp] = the guest address, r11 = the access's host address: a RangeFaultFrame on the
    // stack, then range_fault_unwind (which does not return).
    void unwind_range_fault(int write) {
      constexpr int kXmm = offsetof(RangeFaultFrame, xmm), kMxcsr = offsetof(RangeFaultFrame, mxcsr),
                    kYmmHi = offsetof(RangeFaultFrame, ymm_hi);
      sub(rsp, int(sizeof(RangeFaultFrame)));
      for (int r = 0; r < 16; ++r)
        if (r != Xbyak::Operand::RSP) mov(qword[rsp + 8 * r], Xbyak::Reg64(r));
      for (int x = 0; x < 16; ++x) movdqu(xword[rsp + kXmm + 16 * x], Xbyak::Xmm(x));
      // (a loop of VEX ops keeps guest upper halves in the host: backend/x64/emit_avx.cpp)
      if (Xbyak::util::Cpu().has(Xbyak::util::Cpu::tAVX)) {
        for (int x = 0; x < 16; ++x) vextractf128(xword[rsp + kYmmHi + 16 * x], Xbyak::Ymm(x), 1);
        vzeroupper();
      }
      stmxcsr(dword[rsp + kMxcsr]);
      mov(rdi, rsp);
      mov(rsi, qword[rsp + int(sizeof(RangeFaultFrame))]);
      mov(edx, write);
      and_(rsp, -16);
      mov(rax, reinterpret_cast<uint64_t>(&range_fault_unwind));
      call(rax);
      ud2();  // (not reached)
    }
    uint8_t* settle_flags;
    uint64_t* window_limit;
    // Re-runs the lazy operations on the host (settle_lazy_flags in translated code): a jump
    // table over lazy_flags_op, RFLAGS merged into CpuState::rflags; then the same for the
    // inc/dec layer above it (lazy_incdec_op), which keeps CF.
    void settle() {
      constexpr int kOp = offsetof(CpuState, lazy_flags_op), kA = offsetof(CpuState, lazy_flags_a),
                    kB = offsetof(CpuState, lazy_flags_b),
                    kIncDecOp = offsetof(CpuState, lazy_incdec_op),
                    kIncDecA = offsetof(CpuState, lazy_incdec_a),
                    kIncDecB = offsetof(CpuState, lazy_incdec_b);
      static_assert(kIncDecOp == kOp + 1, "one 16-bit test covers both layers");
      Xbyak::Label table, incdec_table, merge, incdec, incdec_merge, done, none;
      movzx(r11d, word[rbx + kOp]);
      test(r11d, r11d);
      jz(none, T_NEAR);
      push(rax);
      push(rcx);
      jump_on_code(kOp, table, incdec);
      Xbyak::Label cases[kLazyShiftFirst - 1 + kLazyShiftCodes];
      for (int k = 0; k < kLazyFlagsCodes; ++k) {
        L(cases[k]);
        mov(rax, qword[rbx + kA]);
        mov(rcx, qword[rbx + kB]);
        unsigned size = 1u << (k % 4);
        Xbyak::Reg a = sized(rax, size), b = sized(rcx, size);
        switch (FlagsRecipe::Op(FlagsRecipe::Add + k / 4)) {
          case FlagsRecipe::Add: add(a, b); break;
          case FlagsRecipe::Sub: cmp(a, b); break;
          default: test(a, a); break;
        }
        jmp(merge, T_NEAR);
      }
      L(cases[kLazyFlagsCodes]);  // kLazyFlagsValue: the flags are lazy_flags_a's
      mov(rax, qword[rbx + kA]);
      merge_value(flag::ARITH);
      mov(byte[rbx + kOp], 0);
      jmp(incdec, T_NEAR);
      for (int k = 0; k < kLazyShiftCodes; ++k) {  // the host's shift, by the count in lazy_flags_b
        L(cases[kLazyShiftFirst - 1 + k]);
        mov(rax, qword[rbx + kA]);
        mov(rcx, qword[rbx + kB]);
        Xbyak::Reg a = sized(rax, 1u << (k % 4));
        if (k / 4 == 0) shl(a, cl);
        else if (k / 4 == 1) shr(a, cl);
        else sar(a, cl);
        jmp(merge, T_NEAR);
      }
      L(merge);
      merge_flags(flag::ARITH);
      mov(byte[rbx + kOp], 0);
      L(incdec);
      jump_on_code(kIncDecOp, incdec_table, done);
      Xbyak::Label incdec_cases[kLazyIncDecCodes + kLazyPartialCodes + kLazyImulCodes];
      for (int k = 0; k < kLazyIncDecCodes; ++k) {
        L(incdec_cases[k]);
        mov(rax, qword[rbx + kIncDecA]);
        Xbyak::Reg a = sized(rax, 1u << (k % 4));
        if (k / 4 == 0) inc(a);
        else dec(a);
        jmp(incdec_merge, T_NEAR);
      }
      for (int k = 0; k < kLazyPartialCodes; ++k) {  // flags values under a partial mask
        L(incdec_cases[kLazyIncDecCodes + k]);
        mov(rax, qword[rbx + kIncDecA]);
        merge_value(lazy_partial_mask(uint8_t(kLazyIncDecCodes + 1 + k)));
        mov(byte[rbx + kIncDecOp], 0);
        jmp(done, T_NEAR);
      }
      for (int k = 0; k < kLazyImulCodes; ++k) {  // an imul: CF and OF (no byte form: k = 0 unused)
        L(incdec_cases[kLazyIncDecCodes + kLazyPartialCodes + k]);
        mov(rax, qword[rbx + kIncDecA]);
        mov(rcx, qword[rbx + kIncDecB]);
        const unsigned size = k == 0 ? 2 : 1u << k;
        imul(sized(rax, size), sized(rcx, size));
        merge_flags(flag::CF | flag::OF);
        mov(byte[rbx + kIncDecOp], 0);
        jmp(done, T_NEAR);
      }
      L(incdec_merge);
      merge_flags(flag::ARITH & ~flag::CF);
      mov(byte[rbx + kIncDecOp], 0);
      L(done);
      pop(rcx);
      pop(rax);
      L(none);
      ret();
      align(8);
      L(table);
      for (auto& c : cases) putL(c);
      L(incdec_table);
      for (auto& c : incdec_cases) putL(c);
    }
    // Jumps through `table` by the lazy code (1-based) in the byte at [rbx + op], or to
    // `none` when it is 0. Clobbers rcx and r11.
    void jump_on_code(int op, Xbyak::Label& table, Xbyak::Label& none) {
      movzx(r11d, byte[rbx + op]);
      test(r11d, r11d);
      jz(none, T_NEAR);
      mov(rcx, table);
      jmp(qword[rcx + r11 * 8 - 8]);
    }
    // CpuState::rflags = (rflags & ~mask) | (host RFLAGS & mask); clobbers rax and rcx.
    // lahf puts SF, ZF, AF, PF and CF at their RFLAGS bits (7, 6, 4, 2, 0) in ah, seto gives
    // OF: the same bits as pushfq's, read from the same host flags. pushfq is microcoded
    // (~2 ns a time on this host) and was more than half of this trampoline's samples
    // (perf, sqlite and cpp_virtual).
    void merge_flags(uint64_t mask) {
      lahf();
      seto(al);
      movzx(ecx, ah);  // (bit 1 of ah is set; merge_value masks it off)
      movzx(eax, al);
      shl(eax, 11);
      or_(eax, ecx);
      merge_value(mask);
    }
    // CpuState::rflags = (rflags & ~mask) | (rax & mask); clobbers rax.
    void merge_value(uint64_t mask) {
      and_(eax, uint32_t(mask));
      and_(qword[rbx + offsetof(CpuState, rflags)], int32_t(~uint32_t(mask)));
      or_(qword[rbx + offsetof(CpuState, rflags)], rax);
    }
  } g(mem);
  g.ready();
  return {reinterpret_cast<Trampolines::EnterFn>(mem), g.exit_stub, g.settle_flags, g.window_limit,
          {g.range_fault[0], g.range_fault[1]}, g.link_exit};
}

}  // namespace vireo::jit
