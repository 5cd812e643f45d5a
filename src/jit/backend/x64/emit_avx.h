// Host emission of guest VEX instructions (the JIT's AVX family, emitter side): the guest
// instruction re-encoded with host operands (frontend/avx_forms.h). BlockEmitter::vex, the op
// itself, is defined in emit_avx.cpp.
#pragma once

#include <cstdint>

#include "jit/ir/ir.h"

namespace vireo::jit {

// Whether `op` is one of the VEX ops (VexRR ... VexZeroUpper).
bool is_vex_op(ir::Opcode op);

// The guest XMM registers a VEX op reads or writes (a loop in place loads them before its
// head and keeps them in host registers); 0 for any other op.
uint16_t vex_xmm_regs(const ir::Inst& in);

}  // namespace vireo::jit
