// Frontend, BMI1 and BMI2 general-register forms (mirror src/interp/bit.cpp and bmi2.cpp):
// andn, blsi/blsmsk/blsr, sarx/shlx/shrx, rorx and bzhi. glibc's AVX2 string functions end in
// bzhi/blsmsk/sarx/shlx, and -march=x86-64-v3 code uses shlx/sarx/rorx for every variable
// shift and andn in hash rounds, so these must not leave translated code; mulx is the inner
// loop of big-number code (Go's math/big, GMP). pdep/pext (a bit loop in the interpreter) are
// the host's own where it has BMI2, fallbacks elsewhere. bextr stays on the fallback.
#include <Zydis/Mnemonic.h>
#include <sys/platform/x86.h>

#include "cpu/cpu_state.h"
#include "jit/frontend/shift_kind.h"
#include "jit/frontend/translator.h"

namespace vireo::jit {

using ir::Arg;
using ir::Opcode;

namespace {

bool is_gpr(const Operand& o) { return o.kind == OpKind::Reg && o.rclass == RegClass::Gpr; }
bool gpr_or_mem(const Operand& o) { return is_gpr(o) || o.kind == OpKind::Mem; }
// Every form here: at least `nops` operands, the first a 32- or 64-bit register.
bool gpr_dest(const Insn& in, unsigned nops) {
  return in.nops >= nops && is_gpr(in.op[0]) && (in.op[0].size == 4 || in.op[0].size == 8);
}

// sarx/shlx/shrx dest, src, count: the host's shift by CL, whose count masking (5 bits, 6 for
// 64-bit operands) is the one these define; flags untouched (no flags op is emitted).
template <ShiftKind kind>
bool shiftx(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  if (!gpr_dest(in, 3) || !gpr_or_mem(in.op[1]) || !is_gpr(in.op[2])) return false;
  const unsigned size = d.size;
  Value v = t.read(in.op[1], size);
  Value count = t.read(in.op[2], size);
  t.write(d, size, t.ir.emit(Opcode::ShiftCl, {Arg::imm(uint64_t(kind) | (size << 8)), Arg::val(v), Arg::val(count)}));
  return true;
}

// rorx dest, src, imm8: rotate right by imm8 modulo the width; flags untouched.
bool rorx(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  if (!gpr_dest(in, 3) || !gpr_or_mem(in.op[1]) || in.op[2].kind != OpKind::Imm) return false;
  const unsigned size = d.size;
  Value v = t.read(in.op[1], size);
  const unsigned n = unsigned(in.op[2].disp) & (size * 8 - 1);
  if (n == 0) {
    t.write(d, size, v);
    return true;
  }
  uint64_t desc = uint64_t(ShiftKind::Ror) | (size << 8) | (uint64_t(n) << 16);
  t.write(d, size, t.ir.emit(Opcode::Shift, {Arg::imm(desc), Arg::val(v)}));
  return true;
}

// mulx hi, lo, src: hi:lo = rDX * src, unsigned; flags untouched (no flags op is emitted).
// lo is written first: with both destinations one register, it holds the high half (SDM,
// MULX), as in the interpreter (bmi2.cpp).
bool mulx(Translator& t, const Insn& in) {
  if (!gpr_dest(in, 3) || !is_gpr(in.op[1]) || !gpr_or_mem(in.op[2])) return false;
  const unsigned size = in.op[0].size;
  const Operand rdx{OpKind::Reg, uint8_t(size), RegClass::Gpr, RDX, kNoReg, kNoReg, kNoReg, 1, 0};
  Value b = t.read(in.op[2], size);
  Value a = t.read(rdx, size);
  Value hi = t.ir.emit(Opcode::MulHigh, {Arg::imm(size), Arg::val(a), Arg::val(b)});
  t.write(in.op[1], size, t.ir.op(Opcode::Mul, a, b));
  t.write(in.op[0], size, hi);
  return true;
}

// pdep/pext dest, src, mask: the host's own instruction where it has BMI2 (checked once;
// CPUID traps in a VM), otherwise the interpreter's bit loop. Flags untouched.
template <Opcode op>
bool deposit_extract(Translator& t, const Insn& in) {
  static const bool host_bmi2 = CPU_FEATURE_ACTIVE(BMI2);
  if (!host_bmi2 || !gpr_dest(in, 3) || !is_gpr(in.op[1]) || !gpr_or_mem(in.op[2])) return false;
  const unsigned size = in.op[0].size;
  Value mask = t.read(in.op[2], size);
  Value src = t.read(in.op[1], size);
  t.write(in.op[0], size, t.ir.emit(op, {Arg::imm(size), Arg::val(src), Arg::val(mask)}));
  return true;
}

// bzhi dest, src, index: clears the bits of src from index[7:0] up. CF = (index > W-1); ZF
// and SF from the result; OF cleared; AF and PF undefined, kept (as the interpreter keeps them).
bool bzhi(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  if (!gpr_dest(in, 3) || !gpr_or_mem(in.op[1]) || !is_gpr(in.op[2])) return false;
  const unsigned size = d.size, bits = size * 8;
  Value src = t.read(in.op[1], size);
  Value n = t.ir.op(Opcode::ZeroExt8, t.read(in.op[2], size));
  // index > W-1: the source is kept whole, and CF is set ("above" after index - (W-1)).
  Value cmp = t.ir.emit(Opcode::FlagsSub, {Arg::val(n), Arg::val(t.constant(bits - 1)), Arg::imm(8)});
  Value beyond = t.ir.emit(Opcode::TestCond, {Arg::val(cmp), Arg::imm(7)});
  // (1 << (index mod W)) - 1: the select below discards it when the index is beyond W-1)
  Value one_shifted = t.ir.emit(Opcode::ShiftCl, {Arg::imm(uint64_t(ShiftKind::Shl) | (8u << 8)),
                                                  Arg::val(t.constant(1)),
                                                  Arg::val(t.ir.op(Opcode::And, n, t.constant(bits - 1)))});
  Value mask = t.ir.op(Opcode::Sub, one_shifted, t.constant(1));
  Value r = t.ir.emit(Opcode::Select, {Arg::val(beyond), Arg::val(src), Arg::val(t.ir.op(Opcode::And, src, mask))});
  t.write(d, size, r);
  // ZF and SF of the result, OF = 0 (FlagsLogic: CF = OF = AF = 0, PF not taken); then CF.
  t.ir.set_flags(flag::ZF | flag::SF | flag::OF, t.ir.emit(Opcode::FlagsLogic, {Arg::val(r), Arg::imm(size)}));
  t.ir.set_flags(flag::CF, t.ir.op(Opcode::BoolToU64, beyond));
  return true;
}

// BMI1 (interp/bit.cpp): OF cleared, AF and PF undefined (kept), ZF and SF from the result
// (blsmsk's result is never 0, so its ZF = 0 comes out of the same rule).
bool andn(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  if (!gpr_dest(in, 3) || !is_gpr(in.op[1]) || !gpr_or_mem(in.op[2])) return false;
  const unsigned size = d.size;
  Value r = t.ir.op(Opcode::And, t.ir.op(Opcode::Not, t.read(in.op[1], size)), t.read(in.op[2], size));
  t.write(d, size, r);
  // CF = OF = 0 with ZF and SF: all from FlagsLogic.
  t.ir.set_flags(flag::CF | flag::ZF | flag::SF | flag::OF, t.ir.emit(Opcode::FlagsLogic, {Arg::val(r), Arg::imm(size)}));
  return true;
}

enum class Bls { Isolate, Mask, Reset };

// blsi: r = src & -src, CF = (src != 0). blsmsk: r = src ^ (src-1), CF = (src == 0).
// blsr: r = src & (src-1), CF = (src == 0).
template <Bls op>
bool bls(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  if (!gpr_dest(in, 2) || !gpr_or_mem(in.op[1])) return false;
  const unsigned size = d.size;
  Value s = t.read(in.op[1], size);
  Value r = op == Bls::Isolate ? t.ir.op(Opcode::And, s, t.ir.op(Opcode::Neg, s))
            : op == Bls::Mask  ? t.ir.op(Opcode::Xor, s, t.ir.op(Opcode::Sub, s, t.constant(1)))
                               : t.ir.op(Opcode::And, s, t.ir.op(Opcode::Sub, s, t.constant(1)));
  t.write(d, size, r);
  Value src_flags = t.ir.emit(Opcode::FlagsLogic, {Arg::val(s), Arg::imm(size)});
  Value cf = t.ir.emit(Opcode::TestCond, {Arg::val(src_flags), Arg::imm(op == Bls::Isolate ? 5 : 4)});  // NE : E
  t.ir.set_flags(flag::ZF | flag::SF | flag::OF, t.ir.emit(Opcode::FlagsLogic, {Arg::val(r), Arg::imm(size)}));
  t.ir.set_flags(flag::CF, t.ir.op(Opcode::BoolToU64, cf));
  return true;
}

}  // namespace

void register_frontend_bmi(FrontendTable& t) {
  t[ZYDIS_MNEMONIC_SARX] = shiftx<ShiftKind::Sar>;
  t[ZYDIS_MNEMONIC_SHLX] = shiftx<ShiftKind::Shl>;
  t[ZYDIS_MNEMONIC_SHRX] = shiftx<ShiftKind::Shr>;
  t[ZYDIS_MNEMONIC_ANDN] = andn;
  t[ZYDIS_MNEMONIC_BLSI] = bls<Bls::Isolate>;
  t[ZYDIS_MNEMONIC_BLSMSK] = bls<Bls::Mask>;
  t[ZYDIS_MNEMONIC_BLSR] = bls<Bls::Reset>;
  t[ZYDIS_MNEMONIC_RORX] = rorx;
  t[ZYDIS_MNEMONIC_BZHI] = bzhi;
  t[ZYDIS_MNEMONIC_MULX] = mulx;
  t[ZYDIS_MNEMONIC_PDEP] = deposit_extract<Opcode::Pdep>;
  t[ZYDIS_MNEMONIC_PEXT] = deposit_extract<Opcode::Pext>;
}

}  // namespace vireo::jit
