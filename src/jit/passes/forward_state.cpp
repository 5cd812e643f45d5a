#include <array>
#include <vector>

#include "jit/passes/passes.h"
#include "jit/passes/steps.h"

namespace vireo::jit::passes {

namespace detail {

namespace {
// (per-thread scratch, reused from block to block: only GetFlags entries are read, after
// they are written)
thread_local std::vector<uint8_t> getflags_valid;
thread_local std::vector<uint32_t> getflags_src;
thread_local std::vector<uint64_t> getflags_mask;
}  // namespace

GuestStateForwarding::GuestStateForwarding(const ir::Block& b) {
  getflags_valid.assign(b.insts.size(), 0);
  getflags_src.resize(b.insts.size());
  getflags_mask.resize(b.insts.size());
  getflags_valid_ = getflags_valid.data();
  getflags_src_ = getflags_src.data();
  getflags_mask_ = getflags_mask.data();
}

}  // namespace detail

void forward_guest_state(ir::Block& b) {
  std::vector<uint32_t>& alias = identity_aliases(b.insts.size());
  detail::GuestStateForwarding step(b);
  detail::walk_forward(b, alias, [&](uint32_t i, ir::Inst& in) { step.forward(b, i, in, alias); });
  // Dead SetGpr: overwritten later with no read or sync point in between.
  for (size_t i = b.insts.size(); i-- > 0;)
    if (!b.insts[i].dead) step.backward(b.insts[i]);
}

}  // namespace vireo::jit::passes
