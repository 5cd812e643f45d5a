// EFLAGS.TF and EFLAGS.AC in user mode (user_traps.cpp).
#pragma once

#include "interp/exec.h"

namespace vireo {

// Raises #AC if the instruction, about to run with EFLAGS.AC set, accesses misaligned data.
void alignment_check(Exec& x, const Insn& in);
// Raises the #DB trap of an instruction that ran with EFLAGS.TF set (rip: the next one).
[[noreturn]] void single_step_trap(Exec& x);

}  // namespace vireo
