#include "jit/ir/ir.h"

namespace vireo::jit::ir {

void compact(Block& b) {
  const size_t n = b.insts.size();
  thread_local std::vector<uint32_t> to;  // old id -> new id (per-thread scratch)
  to.resize(n);
  // Up to the first dead instruction every id stays as it is: only `dead` is read there (the
  // arguments' walk and the per-argument lookup were most of compact's time, with a tenth of
  // a block's instructions dead after the passes, often none).
  uint32_t k = 0;
  while (k < n && !b.insts[k].dead) to[k] = k, ++k;
  if (k == n) return;
  uint32_t j = k;
  uint32_t start = b.tail.start < k ? b.tail.start : Tail::kNone;
  uint32_t entry = b.tail.entry < k ? b.tail.entry : Tail::kNone;
  for (uint32_t i = k; i < n; ++i) {
    Inst& in = b.insts[i];
    if (in.dead) continue;
    // (to the end read once: `nargs` is a byte, loaded again after every store otherwise)
    for (Arg *a = in.args, *end = in.args + in.nargs; a != end; ++a)
      if (!a->is_imm) a->v = to[a->v];
    if (i == b.tail.start) start = j;
    if (i == b.tail.entry) entry = j;
    to[i] = j;
    if (j != i) b.insts[j] = in;
    ++j;
  }
  if (j == n) return;
  b.insts.resize(j);
  b.for_each_terminal([&](Terminal& t) {
    if (t.cond.valid()) t.cond.id = to[t.cond.id];
    if (t.dest.valid()) t.dest.id = to[t.dest.id];
  });
  if (b.tail.present()) b.tail.start = start, b.tail.entry = entry;
}

}  // namespace vireo::jit::ir
