// A thread's alternate signal stack, kept as Linux keeps it (kernel/signal.c: do_sigaltstack,
// on_sig_stack, sas_ss_flags, sas_ss_reset; fs/exec.c begin_new_exec).
//
// The flags are stored as the guest last gave them, mode bits included: Linux compares them to
// skip a request that changes nothing (so an all-zero stack_t is accepted by a thread that never
// set one, and refused with ENOMEM by one whose flags are SS_DISABLE), saves them raw in a
// signal frame's uc_stack, and reports them computed (SS_DISABLE/SS_ONSTACK) to sigaltstack's
// old-stack argument.
#pragma once
#include <cstdint>

namespace vireo {

struct AltStack {
  static constexpr int32_t kDisable = 2;                      // SS_DISABLE
  static constexpr int32_t kOnStack = 1;                      // SS_ONSTACK
  static constexpr int32_t kAutoDisarm = int32_t(1u << 31);  // SS_AUTODISARM (SS_FLAG_BITS)
  static constexpr uint64_t kMinSize = 2048;  // the kernel's MINSIGSTKSZ (not glibc's sysconf)

  uint64_t sp = 0, size = 0;
  int32_t flags = 0;  // a task that never set one (init's 0, inherited by fork)

  // on_sig_stack: an SS_AUTODISARM stack is never "on" (the kernel's reliability rule).
  bool on(uint64_t rsp) const {
    if (flags & kAutoDisarm) return false;
    return rsp > sp && rsp - sp <= size;
  }
  // What sigaltstack's old-stack argument reports.
  int32_t reported_flags(uint64_t rsp) const {
    return (size == 0 ? kDisable : on(rsp) ? kOnStack : 0) | (flags & kAutoDisarm);
  }
  // Where a handler with SA_ONSTACK starts its frame, or 0 to stay on the current stack.
  uint64_t top_for_handler(uint64_t rsp) const { return size != 0 && !on(rsp) ? sp + size : 0; }
  // do_sigaltstack's change, the thread's stack pointer being `rsp`: 0 or -errno.
  int change(uint64_t rsp, uint64_t new_sp, int32_t new_flags, uint64_t new_size);
  // sas_ss_reset: a CLONE_VM thread's start, and after delivery on an SS_AUTODISARM stack.
  void reset() {
    sp = size = 0;
    flags = kDisable;
  }
  // An execve forgets the stack, not the flags.
  void forget_for_exec() { sp = size = 0; }
};

}  // namespace vireo
