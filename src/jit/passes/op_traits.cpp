// The per-opcode facts of op_traits.h, from the definitions below.
#include "jit/passes/op_traits.h"

namespace vireo::jit::passes::detail {

namespace {

using ir::Opcode;

// Whether the operation has a value (its result type is not Void: opcodes.inc).
constexpr bool has_result(Opcode op) {
  using enum ir::Type;
  constexpr bool kResult[] = {
#define OPCODE(name, ret, ...) ret != Void,
#include "jit/ir/opcodes.inc"
#undef OPCODE
  };
  return kResult[size_t(op)];
}

constexpr bool side_effects_of(Opcode op) {
  switch (op) {
    case Opcode::SetGpr: case Opcode::SetFlags: case Opcode::SetXmm: case Opcode::SetRip:
    case Opcode::Store8: case Opcode::Store16: case Opcode::Store32: case Opcode::Store64:
    case Opcode::Store128: case Opcode::Interpret: case Opcode::RepString: case Opcode::Div:
    case Opcode::Load8: case Opcode::Load16: case Opcode::Load32: case Opcode::Load64:
    case Opcode::Load128: case Opcode::ExitIf: case Opcode::TailStart: case Opcode::CheckCanonical:
    case Opcode::AtomicXadd: case Opcode::AtomicXchg: case Opcode::AtomicCmpXchg:
    case Opcode::SetCpuField: case Opcode::StoreHost32: case Opcode::CheckAligned16:  // (system mode)
    // Every SSE op can set sticky MXCSR exception flags, even one whose value is dead
    // (comisd whose flags are overwritten, cvttsd2si whose result is unused).
    case Opcode::SseRR: case Opcode::SseRM: case Opcode::SseStore: case Opcode::SseRG:
    case Opcode::SseToGpr: case Opcode::SseToGprM: case Opcode::SseFlagsRR: case Opcode::SseFlagsRM:
    case Opcode::SseStrIdx: case Opcode::SseStrIdxM:  // (read guest XMM state: never numbered)
    case Opcode::VexRR: case Opcode::VexRM: case Opcode::VexFromGpr: case Opcode::VexToGpr:
    case Opcode::VexToGprM: case Opcode::VexFlags: case Opcode::VexFlagsM: case Opcode::VexZeroUpper:
      return true;
    default: return false;
  }
}

constexpr bool sync_point_of(Opcode op) {
  switch (op) {
    case Opcode::Store8: case Opcode::Store16: case Opcode::Store32: case Opcode::Store64:
    case Opcode::Store128: case Opcode::Interpret: case Opcode::RepString: case Opcode::Div:
    case Opcode::Load8: case Opcode::Load16: case Opcode::Load32: case Opcode::Load64:
    case Opcode::Load128:
    case Opcode::AtomicXadd: case Opcode::AtomicXchg: case Opcode::AtomicCmpXchg:
    case Opcode::SseRM: case Opcode::SseStore: case Opcode::SseToGprM: case Opcode::SseFlagsRM:
    case Opcode::SseStrIdxM:
    // (every VEX op: where the AVX state is off it leaves the block through the interpreter)
    case Opcode::VexRR: case Opcode::VexRM: case Opcode::VexFromGpr: case Opcode::VexToGpr:
    case Opcode::VexToGprM: case Opcode::VexFlags: case Opcode::VexFlagsM: case Opcode::VexZeroUpper:
    case Opcode::CheckCanonical: case Opcode::CheckAligned16:
    case Opcode::ExitIf:  // (the guest state must be exact where the block may leave)
      return true;
    default: return false;
  }
}

// A pure computation: the same operation on the same operands gives the same value anywhere
// in the block (not a read of guest state, memory or a side effect).
constexpr bool pure_of(Opcode op) {
  if (side_effects_of(op)) return false;
  switch (op) {
    case Opcode::GetGpr: case Opcode::GetFlags: case Opcode::GetXmm: case Opcode::GetSegBase:
    case Opcode::GetCpuField: case Opcode::LoadHost64: case Opcode::ReadTsc:  // (system mode)
      return false;
    default: return has_result(op);
  }
}

constexpr std::array<uint8_t, size_t(Opcode::Count)> make_traits() {
  std::array<uint8_t, size_t(Opcode::Count)> t{};
  for (size_t k = 0; k < t.size(); ++k) {
    const Opcode op = Opcode(k);
    t[k] = uint8_t((side_effects_of(op) ? kSideEffects : 0) | (sync_point_of(op) ? kSyncPoint : 0) |
                   (pure_of(op) ? kPure : 0));
  }
  return t;
}

}  // namespace

constinit const std::array<uint8_t, size_t(ir::Opcode::Count)> kOpTraits = make_traits();

}  // namespace vireo::jit::passes::detail
