// Data movement: mov, movzx, movsx, movsxd, lea, xchg, cmovcc, setcc, bswap, cbw/cwde/cdqe,
// cwd/cdq/cqo, lahf/sahf, movbe.
#include <Zydis/Mnemonic.h>

#include "cpu/condition_codes.h"
#include "cpu/flags.h"
#include "cpu/host_quirks.h"
#include "interp/dispatch.h"
#include "interp/exec.h"
#include "interp/user_segments.h"

namespace vireo {

namespace {

void mov(Exec& x, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  // mov to or from a control or debug register: privileged, #GP(0) at CPL 3.
  if ((d.kind == OpKind::Reg && (d.rclass == RegClass::Cr || d.rclass == RegClass::Dr)) ||
      (s.kind == OpKind::Reg && (s.rclass == RegClass::Cr || s.rclass == RegClass::Dr)))
    x.raise_gp(0);
  if (d.kind == OpKind::Reg && d.rclass == RegClass::Seg) {
    load_user_segment(x, d.reg, uint16_t(x.read(in, s)));
    return;
  }
  by_size(d.size, [&]<class T>() { x.write_t<T>(in, d, x.read_as_t<T>(in, s)); });
}

void movzx(Exec& x, const Insn& in) { x.write(in, in.op[0], x.read(in, in.op[1])); }

void movsx(Exec& x, const Insn& in) {
  uint64_t v = uint64_t(Exec::sign_extend(x.read(in, in.op[1]), in.op[1].size));
  x.write(in, in.op[0], v);
}

// movsxd r16, m32: reads two bytes or four as the host does (cpu/host_quirks.h); the result
// is the source's low 16 bits either way.
void movsxd(Exec& x, const Insn& in) {
  if (in.op[0].size != 2 || in.op[1].kind != OpKind::Mem || !host_movsxd16_reads_two_bytes())
    return movsx(x, in);
  Operand src = in.op[1];
  src.size = 2;
  x.write(in, in.op[0], x.read(in, src));
}

void lea(Exec& x, const Insn& in) { x.write(in, in.op[0], x.offset(in, in.op[1])); }

void xchg(Exec& x, const Insn& in) {
  uint64_t a = x.read(in, in.op[0]);
  uint64_t b = x.read(in, in.op[1]);
  // Memory operand first so that a fault leaves registers untouched.
  if (in.op[1].kind == OpKind::Mem) {
    x.write(in, in.op[1], a);
    x.write(in, in.op[0], b);
  } else {
    x.write(in, in.op[0], b);
    x.write(in, in.op[1], a);
  }
}

void cmovcc(Exec& x, const Insn& in) {
  // The source is read (and may fault) even when the condition is false; a 32-bit
  // destination is zero-extended either way (SDM Vol. 2, CMOVcc).
  uint64_t v = x.read(in, in.op[1]);
  if (flags::cond(x.cpu->rflags, in.cc)) x.write(in, in.op[0], v);
  else if (in.op[0].size == 4) x.set_gpr(in.op[0].reg, 4, x.gpr(in.op[0].reg));
}

void setcc(Exec& x, const Insn& in) {
  x.write(in, in.op[0], flags::cond(x.cpu->rflags, in.cc) ? 1 : 0);
}

void bswap(Exec& x, const Insn& in) {
  const Operand& d = in.op[0];
  uint64_t v = x.read(in, d);
  if (d.size == 8) v = __builtin_bswap64(v);
  else if (d.size == 4) v = __builtin_bswap32(uint32_t(v));
  else v = 0;  // bswap r16 is undefined; CPUs produce 0
  x.write(in, d, v);
}

void movbe(Exec& x, const Insn& in) {
  uint64_t v = x.read(in, in.op[1]);
  switch (in.op[0].size) {
    case 2: v = __builtin_bswap16(uint16_t(v)); break;
    case 4: v = __builtin_bswap32(uint32_t(v)); break;
    default: v = __builtin_bswap64(v); break;
  }
  x.write(in, in.op[0], v);
}

// cbw/cwde/cdqe: sign-extend the low half of rAX into the operand size.
void cbw_family(Exec& x, const Insn& in) {
  unsigned half = in.opsize / 2;
  x.set_gpr(RAX, in.opsize, uint64_t(Exec::sign_extend(x.gpr(RAX), half)));
}

// cwd/cdq/cqo: fill rDX with the sign of rAX.
void cwd_family(Exec& x, const Insn& in) {
  int64_t v = Exec::sign_extend(x.gpr(RAX), in.opsize);
  x.set_gpr(RDX, in.opsize, v < 0 ? ~uint64_t(0) : 0);
}

void lahf(Exec& x, const Insn&) {
  uint64_t& rax = x.cpu->gpr[RAX];
  rax = (rax & ~uint64_t(0xFF00)) | ((x.cpu->rflags & 0xD5) | 2) << 8;
}

void sahf(Exec& x, const Insn&) {
  uint64_t ah = (x.gpr(RAX) >> 8) & 0xD5;
  x.cpu->rflags = (x.cpu->rflags & ~uint64_t(0xD5)) | ah;
}

}  // namespace

void register_move(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_MOV] = mov;
  t[ZYDIS_MNEMONIC_MOVZX] = movzx;
  t[ZYDIS_MNEMONIC_MOVSX] = movsx;
  t[ZYDIS_MNEMONIC_MOVSXD] = movsxd;
  t[ZYDIS_MNEMONIC_LEA] = lea;
  t[ZYDIS_MNEMONIC_XCHG] = xchg;
  t[ZYDIS_MNEMONIC_BSWAP] = bswap;
  t[ZYDIS_MNEMONIC_MOVBE] = movbe;
  t[ZYDIS_MNEMONIC_CBW] = cbw_family;
  t[ZYDIS_MNEMONIC_CWDE] = cbw_family;
  t[ZYDIS_MNEMONIC_CDQE] = cbw_family;
  t[ZYDIS_MNEMONIC_CWD] = cwd_family;
  t[ZYDIS_MNEMONIC_CDQ] = cwd_family;
  t[ZYDIS_MNEMONIC_CQO] = cwd_family;
  t[ZYDIS_MNEMONIC_LAHF] = lahf;
  t[ZYDIS_MNEMONIC_SAHF] = sahf;
  for (auto m : kCmovccMnemonics) t[m] = cmovcc;
  for (auto m : kSetccMnemonics) t[m] = setcc;
}

}  // namespace vireo
