// The safe_syscall stub and the host handler's test of an interrupted PC (safe_syscall.h).
#include "linux/safe_syscall.h"

#include <errno.h>
#include <ucontext.h>

#if !defined(__x86_64__)
#error "vireo_safe_syscall is written for x86-64 hosts"
#endif

// System V arguments: rdi = arrived, rsi = nr, rdx, rcx, r8, r9 = a1..a4, a5 and a6 on the
// stack (8(%rsp), 16(%rsp): nothing is pushed). The kernel wants rax = nr, rdi, rsi, rdx, r10,
// r8, r9. r11 holds the word's address: it is a scratch register, and `syscall` clobbers it
// anyway. Nothing before the `syscall` instruction has an effect outside the caller-saved
// registers and the stack is never touched, so the handler may send any PC in
// [vireo_safe_syscall, vireo_safe_syscall_insn] to vireo_safe_syscall_restart, whose `ret`
// returns to the caller as if the stub had run to its end.
asm(R"(
  .pushsection .text
  .globl vireo_safe_syscall
  .hidden vireo_safe_syscall_insn, vireo_safe_syscall_restart
  .globl vireo_safe_syscall_insn, vireo_safe_syscall_restart
  .type vireo_safe_syscall, @function
  .p2align 4
vireo_safe_syscall:
  .cfi_startproc
  mov %rdi, %r11
  mov %rsi, %rax
  mov %rdx, %rdi
  mov %rcx, %rsi
  mov %r8, %rdx
  mov %r9, %r10
  mov 8(%rsp), %r8
  mov 16(%rsp), %r9
  cmpl $0, (%r11)
  jne vireo_safe_syscall_restart
vireo_safe_syscall_insn:
  syscall
  ret
vireo_safe_syscall_restart:
  mov $-512, %rax
  ret
  .cfi_endproc
  .size vireo_safe_syscall, . - vireo_safe_syscall
  .popsection
)");

extern "C" const char vireo_safe_syscall_insn[], vireo_safe_syscall_restart[];

namespace vireo {

static_assert(kRestartSys == -512, "the stub's exit hard-codes -ERESTARTSYS");

namespace {
greg_t& pc_of(ucontext_t* uc) { return uc->uc_mcontext.gregs[REG_RIP]; }
uintptr_t addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }
}  // namespace

bool divert_safe_syscall(void* ucontext) {
  auto* uc = static_cast<ucontext_t*>(ucontext);
  const uintptr_t pc = uintptr_t(pc_of(uc));
  if (pc < addr(reinterpret_cast<const void*>(&vireo_safe_syscall)) ||
      pc > addr(vireo_safe_syscall_insn))
    return false;
  pc_of(uc) = greg_t(addr(vireo_safe_syscall_restart));
  return true;
}

bool interrupted_safe_syscall(const void* ucontext) {
  const auto* uc = static_cast<const ucontext_t*>(ucontext);
  constexpr uintptr_t kSyscallLength = 2;  // 0f 05
  return uintptr_t(uc->uc_mcontext.gregs[REG_RIP]) == addr(vireo_safe_syscall_insn) + kSyscallLength &&
         uc->uc_mcontext.gregs[REG_RAX] == -EINTR;
}

}  // namespace vireo
