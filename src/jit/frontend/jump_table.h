// A `jmp` through a read-only jump table as a multi-way chainable exit (docs/jit.md,
// "Translation cache, chaining, jump cache": jump tables).
#pragma once

#include "jit/frontend/translator.h"

namespace vireo::jit {

// When `target` (the value an indirect `jmp` goes to) is an entry of a jump table the guest
// cannot write, at an address the block knows (a constant, or a register whose entry value
// the block then compares, with a side exit to the `jmp` itself), indexed by a value with a
// known bound: fills the block's JumpTable with every entry's target and returns the index
// value, which the Indirect terminal carries in `cond`. Otherwise an invalid value, and the
// jmp stays an ordinary jump-cache probe.
Value translate_jump_table(Translator& t, Value target);

}  // namespace vireo::jit
