// Frontend, instructions that only move flags (mirrors the flag instructions of
// src/interp/system.cpp and lahf/sahf of src/interp/move.cpp):
// clc/stc/cmc, cld/std, lahf/sahf.
#include "cpu/cpu_state.h"
#include "jit/frontend/translator.h"

namespace vireo::jit {

using ir::Arg;
using ir::Opcode;

namespace {

template <uint64_t mask, bool set>
bool set_or_clear(Translator& t, const Insn&) {
  t.ir.set_flags(mask, t.constant(set ? mask : 0));
  return true;
}

bool cmc(Translator& t, const Insn&) {
  t.ir.set_flags(flag::CF, t.ir.op(Opcode::Xor, t.ir.emit(Opcode::GetFlags, {}), t.constant(flag::CF)));
  return true;
}

// The flags lahf/sahf move: SF, ZF, AF, PF and CF, at their RFLAGS positions in AH.
constexpr uint64_t kAhFlags = flag::SF | flag::ZF | flag::AF | flag::PF | flag::CF;

// lahf: AH = SF:ZF:0:AF:0:PF:1:CF (SDM Vol. 2, LAHF).
bool lahf(Translator& t, const Insn&) {
  Value ah = t.ir.op(Opcode::Or, t.ir.op(Opcode::And, t.ir.emit(Opcode::GetFlags, {}), t.constant(kAhFlags)),
                     t.constant(flag::FIXED1));
  t.ir.set_gpr(RAX, t.ir.op(Opcode::MergeHigh8, t.ir.get_gpr(RAX), ah));
  return true;
}

// sahf: SF, ZF, AF, PF, CF = the same bits of AH.
bool sahf(Translator& t, const Insn&) {
  t.ir.set_flags(kAhFlags, t.ir.op(Opcode::Shr, t.ir.get_gpr(RAX), t.constant(8)));
  return true;
}

}  // namespace

void register_frontend_flag_ops(FrontendTable& t) {
  t[ZYDIS_MNEMONIC_CLC] = set_or_clear<flag::CF, false>;
  t[ZYDIS_MNEMONIC_STC] = set_or_clear<flag::CF, true>;
  t[ZYDIS_MNEMONIC_CMC] = cmc;
  t[ZYDIS_MNEMONIC_CLD] = set_or_clear<flag::DF, false>;
  t[ZYDIS_MNEMONIC_STD] = set_or_clear<flag::DF, true>;
  t[ZYDIS_MNEMONIC_LAHF] = lahf;
  t[ZYDIS_MNEMONIC_SAHF] = sahf;
}

}  // namespace vireo::jit
