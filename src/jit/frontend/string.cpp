// Frontend, string instructions (mirrors src/interp/string.cpp): movs, stos, lods, cmps, scas.
//
// rep movs/stos (F3, or F2, which acts the same) and repe/repne cmps/scas become a RepString
// op: a helper that runs them on the guest window (jit/runtime/rep_string.cpp). Without a
// prefix they are plain loads and stores (and a compare) that step rSI/rDI by +size, or -size
// when DF = 1. A 32-bit address size (67h), an FS/GS source and rep lods go to the
// interpreter.
#include "cpu/cpu_state.h"
#include "jit/frontend/translator.h"

namespace vireo::jit {

using ir::Arg;
using ir::Opcode;

namespace {

// Whether a legacy prefix gives the source an FS or GS base (the other segments have none in
// 64-bit mode).
bool fs_gs_source(const Insn& in) {
  for (unsigned i = 0; i < in.len; ++i) {
    switch (in.bytes[i]) {
      case 0x64: case 0x65: return true;
      case 0x26: case 0x2E: case 0x36: case 0x3E: case 0xF0: case 0xF2: case 0xF3: case 0x66:
      case 0x67:
        break;
      default: return false;  // REX or the opcode: the prefixes are over
    }
  }
  return false;
}

bool has_rep(const Insn& in) { return in.prefixes & (pfx::REP | pfx::REPNE); }

// +size, or -size when DF (RFLAGS bit 10) is set: size - (DF << log2(2 * size)).
Value step(Translator& t, unsigned size) {
  Value df = t.ir.op(Opcode::And, t.ir.op(Opcode::Shr, t.ir.emit(Opcode::GetFlags, {}), t.constant(10)),
                     t.constant(1));
  return t.ir.op(Opcode::Sub, t.constant(size), t.ir.op(Opcode::Shl, df, t.constant(__builtin_ctz(size) + 1)));
}

Operand accumulator(unsigned size) {
  return Operand{OpKind::Reg, uint8_t(size), RegClass::Gpr, RAX, kNoReg, kNoReg, kNoReg, 1, 0};
}

template <unsigned N>
bool movs(Translator& t, const Insn& in) {
  if (in.addrsize != 8 || fs_gs_source(in)) return false;
  if (has_rep(in)) {
    t.ir.emit(Opcode::RepString, {Arg::imm(t.add_fallback())});
    return true;
  }
  Value rsi = t.ir.get_gpr(RSI), rdi = t.ir.get_gpr(RDI);
  t.store(rdi, N, t.load(rsi, N));
  Value s = step(t, N);
  t.ir.set_gpr(RSI, t.ir.op(Opcode::Add, rsi, s));
  t.ir.set_gpr(RDI, t.ir.op(Opcode::Add, rdi, s));
  return true;
}

template <unsigned N>
bool stos(Translator& t, const Insn& in) {
  if (in.addrsize != 8) return false;
  if (has_rep(in)) {
    t.ir.emit(Opcode::RepString, {Arg::imm(t.add_fallback())});
    return true;
  }
  Value rdi = t.ir.get_gpr(RDI);
  t.store(rdi, N, t.ir.get_gpr(RAX));
  t.ir.set_gpr(RDI, t.ir.op(Opcode::Add, rdi, step(t, N)));
  return true;
}

template <unsigned N>
bool lods(Translator& t, const Insn& in) {
  if (in.addrsize != 8 || fs_gs_source(in) || has_rep(in)) return false;
  Value rsi = t.ir.get_gpr(RSI);
  t.write(accumulator(N), N, t.load(rsi, N));
  t.ir.set_gpr(RSI, t.ir.op(Opcode::Add, rsi, step(t, N)));
  return true;
}

// cmps compares [rSI] with [rDI], scas the accumulator with [rDI]: the flags of a - b.
template <unsigned N, bool is_cmps>
bool compare(Translator& t, const Insn& in) {
  if (in.addrsize != 8 || (is_cmps && fs_gs_source(in))) return false;
  if (has_rep(in)) {
    t.ir.emit(Opcode::RepString, {Arg::imm(t.add_fallback())});
    return true;
  }
  Value rsi = t.ir.get_gpr(RSI), rdi = t.ir.get_gpr(RDI);
  Value b = t.load(rdi, N);  // first, as interp/string.cpp says for cmps without rep
  Value a = is_cmps ? t.load(rsi, N) : t.zero_extend(t.ir.get_gpr(RAX), N);
  Value f = t.ir.emit(Opcode::FlagsSub, {Arg::val(a), Arg::val(b), Arg::imm(N)});
  Value s = step(t, N);
  if (is_cmps) t.ir.set_gpr(RSI, t.ir.op(Opcode::Add, rsi, s));
  t.ir.set_gpr(RDI, t.ir.op(Opcode::Add, rdi, s));
  t.ir.set_flags(flag::ARITH, f);
  return true;
}

// movsd and cmpsd are also SSE instructions: the string forms have no visible operands.
FrontendFn sse_movsd = nullptr, sse_cmpsd = nullptr;
bool movsd(Translator& t, const Insn& in) {
  if (in.nops == 0) return movs<4>(t, in);
  return sse_movsd && sse_movsd(t, in);
}
bool cmpsd(Translator& t, const Insn& in) {
  if (in.nops == 0) return compare<4, true>(t, in);
  return sse_cmpsd && sse_cmpsd(t, in);
}

}  // namespace

void register_frontend_string(FrontendTable& t) {
  t[ZYDIS_MNEMONIC_MOVSB] = movs<1>;
  t[ZYDIS_MNEMONIC_MOVSW] = movs<2>;
  sse_movsd = t[ZYDIS_MNEMONIC_MOVSD];  // registered before this family
  t[ZYDIS_MNEMONIC_MOVSD] = movsd;
  t[ZYDIS_MNEMONIC_MOVSQ] = movs<8>;
  sse_cmpsd = t[ZYDIS_MNEMONIC_CMPSD];
  t[ZYDIS_MNEMONIC_CMPSD] = cmpsd;
  t[ZYDIS_MNEMONIC_STOSB] = stos<1>;
  t[ZYDIS_MNEMONIC_STOSW] = stos<2>;
  t[ZYDIS_MNEMONIC_STOSD] = stos<4>;
  t[ZYDIS_MNEMONIC_STOSQ] = stos<8>;
  t[ZYDIS_MNEMONIC_CMPSB] = compare<1, true>;
  t[ZYDIS_MNEMONIC_CMPSW] = compare<2, true>;
  t[ZYDIS_MNEMONIC_CMPSQ] = compare<8, true>;
  t[ZYDIS_MNEMONIC_SCASB] = compare<1, false>;
  t[ZYDIS_MNEMONIC_SCASW] = compare<2, false>;
  t[ZYDIS_MNEMONIC_SCASD] = compare<4, false>;
  t[ZYDIS_MNEMONIC_SCASQ] = compare<8, false>;
  t[ZYDIS_MNEMONIC_LODSB] = lods<1>;
  t[ZYDIS_MNEMONIC_LODSW] = lods<2>;
  t[ZYDIS_MNEMONIC_LODSD] = lods<4>;
  t[ZYDIS_MNEMONIC_LODSQ] = lods<8>;
}

}  // namespace vireo::jit
