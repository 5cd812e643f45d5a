// IR passes, named for what they remove (design.md). Each keeps instruction ids stable by
// marking removed instructions dead instead of erasing them.
#pragma once

#include <vector>

#include "jit/ir/ir.h"
#include "jit/passes/op_traits.h"

namespace vireo::jit::passes {

// GetGpr after SetGpr/GetGpr of the same register in the block reuses the known value, and
// TestCond of GetFlags uses the flags value of the last SetFlags that covers its condition:
// a block-local register cache. Also deletes SetGpr that a later SetGpr overwrites before any
// reader or possible fault.
void forward_guest_state(ir::Block& b);

// Folds instructions whose operands are constants, and simple identities (x + 0, x & ~0).
void fold_constants(ir::Block& b);

// Deletes zero-extensions of values whose upper half is already zero or that nothing reads,
// and narrows 64-bit operations whose upper half nothing reads to their 32-bit forms.
void eliminate_zero_extensions(ir::Block& b);

// Flag liveness and dead code in one backward walk (the pipeline's last step): a SetFlags
// whose bits are all overwritten before anything can read them (a GetFlags, an interpreter
// fallback, a possible fault, the block's end) is deleted, the others narrowed to their live
// bits (flags are live at every block exit: conservative); a pure instruction whose value
// nothing uses is deleted, before a GetFlags only it read can keep the flags before it alive.
void eliminate_dead_flags_and_code(ir::Block& b);

// Rewrites a terminal's values through a pass's alias map.
inline void alias_terminal(ir::Terminal& t, const std::vector<uint32_t>& alias) {
  if (t.cond.valid()) t.cond.id = alias[t.cond.id];
  if (t.dest.valid()) t.dest.id = alias[t.dest.id];
}

// The identity alias map of a pass over n values: per-thread scratch shared by the passes
// (each uses it only while it runs; passes run once per translated block).
std::vector<uint32_t>& identity_aliases(size_t n);

// The standard pipeline, in order.
void optimize(ir::Block& b);

// True for instructions with effects beyond their value (state writes, memory, fallbacks,
// and loads, which can fault).
inline bool has_side_effects(ir::Opcode op) { return detail::has_trait(op, detail::kSideEffects); }
// True for instructions at which the guest state in CpuState must be exact: anything that can
// fault or that runs the interpreter.
inline bool is_sync_point(ir::Opcode op) { return detail::has_trait(op, detail::kSyncPoint); }

// The largest value v can hold whatever the block's inputs (UINT64_MAX when the IR does not
// bound it): constants, zero-extensions, narrow loads, 32-bit operations, and sums, constant
// left shifts and products of those that cannot wrap (value_bounds.cpp). The backend drops
// the window range check of an address bounded below the window's end.
uint64_t upper_bound(const ir::Block& b, uint32_t v);

}  // namespace vireo::jit::passes
