// Frontend, bit instructions (mirrors src/interp/bit.cpp): bt/bts/btr/btc, bsf/bsr,
// tzcnt/lzcnt/popcnt. Each runs as the host's own instruction at the guest width; only the
// flags the SDM defines are committed (the interpreter keeps the undefined ones, and so do we).
#include "cpu/cpu_state.h"
#include "cpu/host_quirks.h"
#include "jit/frontend/bit_kind.h"
#include "jit/frontend/translator.h"

namespace vireo::jit {

using ir::Arg;
using ir::Opcode;

namespace {

bool is_gpr(const Operand& o) { return o.kind == OpKind::Reg && o.rclass == RegClass::Gpr; }

Value bit_op(Translator& t, Opcode op, BitKind kind, unsigned size, Value a, Value b) {
  return t.ir.emit(op, {Arg::imm(uint64_t(kind) | (size << 8)), Arg::val(a), Arg::val(b)});
}

// bt r/m, r|imm8 and the modifying forms: CF = the selected bit; ZF unaffected; OF/SF/AF/PF
// undefined (kept).
template <BitKind kind>
bool bt(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (!(is_gpr(d) || d.kind == OpKind::Mem) || d.size < 2) return false;
  if (!(is_gpr(s) || s.kind == OpKind::Imm)) return false;
  unsigned size = d.size;
  Value offset = t.read(s, size);  // an immediate selects modulo the width, like a register
  Value addr;
  if (d.kind == OpKind::Mem) {
    addr = t.address(d);
    if (s.kind == OpKind::Reg) {
      // A register offset into a memory bit string is signed and may address any
      // operand-sized unit from the effective address (SDM Vol. 2, BT, "Bit(BitBase,
      // BitOffset)"): EA + (offset >> log2 W) * W/8, with the address wrapping at its size.
      unsigned log_bits = __builtin_ctz(size * 8), log_bytes = __builtin_ctz(size);
      Value unit = t.ir.op(Opcode::Sar, t.sign_extend(offset, size), t.constant(log_bits));
      addr = t.ir.op(Opcode::Add, addr, t.ir.op(Opcode::Shl, unit, t.constant(log_bytes)));
      if (in.addrsize == 4) addr = t.ir.op(Opcode::ZeroExt32, addr);
    }
  }
  Value v = addr.valid() ? t.load(addr, size) : t.read(d, size);
  Value f = bit_op(t, Opcode::FlagsBitOp, kind, size, v, offset);
  if (kind != BitKind::Bt) {
    Value r = bit_op(t, Opcode::BitOp, kind, size, v, offset);
    if (addr.valid()) t.store(addr, size, r);
    else t.write(d, size, r);
  }
  t.ir.set_flags(flag::CF, f);
  return true;
}

// bsf/bsr: ZF = (source == 0); on a zero source the destination register is left entirely
// unchanged (as the interpreter and the hardware do). CF/OF/SF/AF/PF undefined: the host's,
// which an AMD host keeps (the guest's then, not the host's before the bsf) and an Intel host
// computes (bit.cpp in the interpreter spells the rule out; cpu/host_quirks.h).
template <BitKind kind>
bool bit_scan(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (!is_gpr(d) || d.size < 2 || !(is_gpr(s) || s.kind == OpKind::Mem)) return false;
  unsigned size = d.size;
  Value src = t.read(s, size);
  Value old = t.ir.get_gpr(d.reg);
  Value r = bit_op(t, Opcode::BitOp, kind, size, old, src);
  Value f = bit_op(t, Opcode::FlagsBitOp, kind, size, old, src);
  Value zero_source = t.ir.emit(Opcode::TestCond, {Arg::val(f), Arg::imm(4)});  // ZF (E)
  Value updated = t.register_after_write(d, r);
  t.ir.set_gpr(d.reg, t.ir.emit(Opcode::Select, {Arg::val(zero_source), Arg::val(old), Arg::val(updated)}));
  t.ir.set_flags(host_bit_scan_keeps_flags() ? flag::ZF : flag::ARITH, f);
  return true;
}

// tzcnt/lzcnt: CF = (source == 0), ZF = (result == 0); of the undefined ones the host's
// instruction clears SF, AF and PF, and OF too on Intel's parts, kept on AMD EPYC's
// (host_flag_rules(); as interp/bit.cpp).
// popcnt: ZF = (source == 0) and the other five cleared.
template <BitKind kind>
bool bit_count(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (!is_gpr(d) || d.size < 2 || !(is_gpr(s) || s.kind == OpKind::Mem)) return false;
  unsigned size = d.size;
  Value src = t.read(s, size);
  Value f = bit_op(t, Opcode::FlagsBitOp, kind, size, src, src);
  t.write(d, size, bit_op(t, Opcode::BitOp, kind, size, src, src));
  const bool writes_of = kind == BitKind::Popcnt || host_flag_rules().lzcnt_clears_of;
  t.ir.set_flags(writes_of ? flag::ARITH : (flag::ARITH & ~flag::OF), f);
  return true;
}

}  // namespace

void register_frontend_bit(FrontendTable& t) {
  t[ZYDIS_MNEMONIC_BT] = bt<BitKind::Bt>;
  t[ZYDIS_MNEMONIC_BTS] = bt<BitKind::Bts>;
  t[ZYDIS_MNEMONIC_BTR] = bt<BitKind::Btr>;
  t[ZYDIS_MNEMONIC_BTC] = bt<BitKind::Btc>;
  t[ZYDIS_MNEMONIC_BSF] = bit_scan<BitKind::Bsf>;
  t[ZYDIS_MNEMONIC_BSR] = bit_scan<BitKind::Bsr>;
  t[ZYDIS_MNEMONIC_TZCNT] = bit_count<BitKind::Tzcnt>;
  t[ZYDIS_MNEMONIC_LZCNT] = bit_count<BitKind::Lzcnt>;
  t[ZYDIS_MNEMONIC_POPCNT] = bit_count<BitKind::Popcnt>;
}

}  // namespace vireo::jit
