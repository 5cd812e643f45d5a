#include "jit/backend/x64/emit_alu.h"

#include <xbyak/xbyak_util.h>

#include <stdexcept>

#include "cpu/cpu_state.h"
#include "jit/frontend/shift_kind.h"

namespace vireo::jit {

using ir::Opcode;
using Xbyak::Reg64;
using namespace Xbyak::util;

Xbyak::Reg sized(const Reg64& r, unsigned size) {
  switch (size) {
    case 1: return r.cvt8();
    case 2: return r.cvt16();
    case 4: return r.cvt32();
    default: return r;
  }
}

int32_t sized_imm(uint64_t v, uint64_t size) {
  return size == 1 ? int8_t(v) : size == 2 ? int16_t(v) : int32_t(v);
}

namespace {
Xbyak::Reg width(const Reg64& r, bool w32) { return w32 ? Xbyak::Reg(r.cvt32()) : Xbyak::Reg(r); }
void copy(Xbyak::CodeGenerator& g, const Xbyak::Reg& d, const Xbyak::Reg& a) {
  if (d.getIdx() != a.getIdx()) g.mov(d, a);
}
}  // namespace

void emit_add(Xbyak::CodeGenerator& g, const Reg64& d, int base, int index, int scale, int32_t disp,
              bool w32) {
  if (base < 0 && index < 0) throw std::runtime_error("jit backend: add without a register operand");
  Xbyak::Reg dst = width(d, w32);
  if (scale == 1 && index >= 0 && base >= 0) {  // two plain registers: maybe two-address
    if (d.getIdx() == base) return g.add(dst, width(Reg64(index), w32));
    if (d.getIdx() == index) return g.add(dst, width(Reg64(base), w32));
  }
  if (index < 0 && d.getIdx() == base) {
    if (disp) g.add(dst, disp);
    else if (w32) g.mov(d.cvt32(), d.cvt32());
    return;
  }
  Xbyak::RegExp e = index < 0 ? Xbyak::RegExp(Reg64(base)) : Xbyak::RegExp(Reg64(index) * scale);
  if (index >= 0 && base >= 0) e = e + Reg64(base);
  g.lea(dst, g.ptr[e + disp]);
}

void emit_binary(Xbyak::CodeGenerator& g, Opcode op, const Reg64& d64, const Reg64& a64, int b_reg,
                 uint32_t imm) {
  bool w32 = op == Opcode::Sub32 || op == Opcode::And32 || op == Opcode::Or32 ||
             op == Opcode::Xor32 || op == Opcode::Mul32;
  bool sub = op == Opcode::Sub || op == Opcode::Sub32;
  Xbyak::Reg d = width(d64, w32), a = width(a64, w32);
  auto apply = [&](const Xbyak::Reg& x, const Xbyak::Reg& y) {
    switch (op) {
      case Opcode::Sub: case Opcode::Sub32: g.sub(x, y); break;
      case Opcode::And: case Opcode::And32: g.and_(x, y); break;
      case Opcode::Or: case Opcode::Or32: g.or_(x, y); break;
      case Opcode::Xor: case Opcode::Xor32: g.xor_(x, y); break;
      default: g.imul(x, y); break;
    }
  };
  if (b_reg < 0) {
    if (op == Opcode::Mul || op == Opcode::Mul32) return g.imul(d, a, int(imm));
    if (sub) {
      if (d.getIdx() != a.getIdx()) return g.lea(d, g.ptr[a64 + int32_t(0u - imm)]);
      return g.sub(d, int32_t(imm));
    }
    copy(g, d, a);
    switch (op) {
      case Opcode::And: case Opcode::And32: g.and_(d, int32_t(imm)); break;
      case Opcode::Or: case Opcode::Or32: g.or_(d, int32_t(imm)); break;
      default: g.xor_(d, int32_t(imm)); break;
    }
    return;
  }
  Xbyak::Reg b = width(Reg64(b_reg), w32);
  if (d.getIdx() == b.getIdx() && d.getIdx() != a.getIdx()) {
    if (!sub) return apply(d, a);  // commutative
    g.neg(d);                      // a - b = -b + a
    g.add(d, a);
    return;
  }
  copy(g, d, a);
  apply(d, b);
}

void emit_shift_imm(Xbyak::CodeGenerator& g, uint64_t desc, const Reg64& x) {
  Xbyak::Reg r = sized(x, unsigned((desc >> 8) & 0xFF));
  int count = int((desc >> 16) & 0xFF);
  switch (ShiftKind(desc & 0xFF)) {
    case ShiftKind::Shl: g.shl(r, count); break;
    case ShiftKind::Shr: g.shr(r, count); break;
    case ShiftKind::Sar: g.sar(r, count); break;
    case ShiftKind::Rol: g.rol(r, count); break;
    case ShiftKind::Ror: g.ror(r, count); break;
  }
}

namespace {

// r11 = a shifted by count through CL; rcx is saved around the shift because it may hold
// another value. push, pop and mov leave the flags of the shift alone.
void shift_through_cl(Xbyak::CodeGenerator& g, uint64_t desc, const Reg64& a, const Reg64& count) {
  Xbyak::Reg r = sized(r11, unsigned((desc >> 8) & 0xFF));
  g.mov(r11, a);
  g.push(rcx);
  if (count.getIdx() != rcx.getIdx()) g.mov(rcx, count);
  switch (ShiftKind(desc & 0xFF)) {
    case ShiftKind::Shl: g.shl(r, cl); break;
    case ShiftKind::Shr: g.shr(r, cl); break;
    case ShiftKind::Sar: g.sar(r, cl); break;
    case ShiftKind::Rol: g.rol(r, cl); break;
    case ShiftKind::Ror: g.ror(r, cl); break;
  }
  g.pop(rcx);
}

bool host_has_bmi2() {
  static const bool has = Xbyak::util::Cpu().has(Xbyak::util::Cpu::tBMI2);
  return has;
}

}  // namespace

void emit_shift_cl(Xbyak::CodeGenerator& g, uint64_t desc, const Reg64& d, const Reg64& a, const Reg64& count) {
  unsigned size = unsigned((desc >> 8) & 0xFF);
  ShiftKind kind = ShiftKind(desc & 0xFF);
  // BMI2's shlx/shrx/sarx take the count in any register and mask it as the guest's 32- and
  // 64-bit shifts do (SDM SAL/SAR/SHL/SHR: 5 or 6 bits); 32-bit forms zero the upper half.
  if (host_has_bmi2() && (size == 4 || size == 8) && kind != ShiftKind::Rol && kind != ShiftKind::Ror) {
    auto emit = [&](const auto& dd, const auto& aa, const auto& cc) {
      if (kind == ShiftKind::Shl) g.shlx(dd, aa, cc);
      else if (kind == ShiftKind::Shr) g.shrx(dd, aa, cc);
      else g.sarx(dd, aa, cc);
    };
    if (size == 8) emit(d, a, count);
    else emit(d.cvt32(), a.cvt32(), count.cvt32());
    return;
  }
  shift_through_cl(g, desc, a, count);
  g.mov(d, r11);
}

void emit_flags_shift_cl(Xbyak::CodeGenerator& g, uint64_t desc, const Reg64& d, const Reg64& a,
                         const Reg64& count, const Reg64& old) {
  // A masked count of 0 leaves every flag alone (SDM SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR): then
  // the result is the guest's flags. Otherwise the host's shift computes them, including the
  // ones the SDM leaves undefined, as the guest's CPU would. A branch is much cheaper than
  // loading the old flags with popfq.
  unsigned size = unsigned((desc >> 8) & 0xFF);
  Xbyak::Label shifted, done;
  g.test(count.cvt8(), size == 8 ? 0x3F : 0x1F);
  g.jnz(shifted);
  if (d.getIdx() != old.getIdx()) g.mov(d, old);
  g.jmp(done);
  g.L(shifted);
  shift_through_cl(g, desc, a, count);
  g.pushfq();
  g.pop(d);
  g.L(done);
}

void emit_flags_recipe(Xbyak::CodeGenerator& g, const FlagsRecipe& r) {
  Reg64 a(r.a);
  switch (r.op) {
    case FlagsRecipe::Sub:
      if (r.b >= 0) g.cmp(sized(a, r.size), sized(Reg64(r.b), r.size));
      else g.cmp(sized(a, r.size), sized_imm(r.imm, r.size));
      break;
    case FlagsRecipe::Add:
      g.mov(r11, a);
      if (r.b >= 0) g.add(sized(r11, r.size), sized(Reg64(r.b), r.size));
      else g.add(sized(r11, r.size), sized_imm(r.imm, r.size));
      break;
    case FlagsRecipe::Logic: g.test(sized(a, r.size), sized(a, r.size)); break;
    case FlagsRecipe::Inc: g.mov(r11, a); g.inc(sized(r11, r.size)); break;
    case FlagsRecipe::Dec: g.mov(r11, a); g.dec(sized(r11, r.size)); break;
    case FlagsRecipe::Imul:
      if (r.b >= 0) {
        g.mov(r11, a);
        g.imul(sized(r11, r.size), sized(Reg64(r.b), r.size));
      } else {  // (the three-operand form's immediate)
        g.imul(sized(r11, r.size), sized(a, r.size), sized_imm(r.imm, r.size));
      }
      break;
    case FlagsRecipe::None: break;
    default:  // a shift by an immediate (r.imm, not 0)
      g.mov(r11, a);
      emit_shift_imm(g, uint64_t(r.op - FlagsRecipe::Shl) | r.size << 8 | r.imm << 16, r11);
      break;
  }
}

void emit_setcc(Xbyak::CodeGenerator& g, uint8_t cc, const Xbyak::Reg8& r) {
  switch (cc & 15) {
    case 0: g.seto(r); break;   case 1: g.setno(r); break;  case 2: g.setb(r); break;
    case 3: g.setnb(r); break;  case 4: g.setz(r); break;   case 5: g.setnz(r); break;
    case 6: g.setbe(r); break;  case 7: g.setnbe(r); break; case 8: g.sets(r); break;
    case 9: g.setns(r); break;  case 10: g.setp(r); break;  case 11: g.setnp(r); break;
    case 12: g.setl(r); break;  case 13: g.setnl(r); break; case 14: g.setle(r); break;
    default: g.setnle(r); break;
  }
}

void emit_cmov(Xbyak::CodeGenerator& g, uint8_t cc, const Reg64& d, const Reg64& s) {
  switch (cc & 15) {
    case 0: g.cmovo(d, s); break;   case 1: g.cmovno(d, s); break;  case 2: g.cmovb(d, s); break;
    case 3: g.cmovnb(d, s); break;  case 4: g.cmovz(d, s); break;   case 5: g.cmovnz(d, s); break;
    case 6: g.cmovbe(d, s); break;  case 7: g.cmovnbe(d, s); break; case 8: g.cmovs(d, s); break;
    case 9: g.cmovns(d, s); break;  case 10: g.cmovp(d, s); break;  case 11: g.cmovnp(d, s); break;
    case 12: g.cmovl(d, s); break;  case 13: g.cmovnl(d, s); break; case 14: g.cmovle(d, s); break;
    default: g.cmovnle(d, s); break;
  }
}

void emit_jcc(Xbyak::CodeGenerator& g, uint8_t cc, const Xbyak::Label& l) {
  constexpr auto T_NEAR = Xbyak::CodeGenerator::T_NEAR;
  switch (cc & 15) {
    case 0: g.jo(l, T_NEAR); break;   case 1: g.jno(l, T_NEAR); break;  case 2: g.jb(l, T_NEAR); break;
    case 3: g.jnb(l, T_NEAR); break;  case 4: g.jz(l, T_NEAR); break;   case 5: g.jnz(l, T_NEAR); break;
    case 6: g.jbe(l, T_NEAR); break;  case 7: g.jnbe(l, T_NEAR); break; case 8: g.js(l, T_NEAR); break;
    case 9: g.jns(l, T_NEAR); break;  case 10: g.jp(l, T_NEAR); break;  case 11: g.jnp(l, T_NEAR); break;
    case 12: g.jl(l, T_NEAR); break;  case 13: g.jnl(l, T_NEAR); break; case 14: g.jle(l, T_NEAR); break;
    default: g.jnle(l, T_NEAR); break;
  }
}

// With plain bit tests on the flags value.
void emit_test_cond(Xbyak::CodeGenerator& g, const Reg64& d, const Reg64& flags, uint8_t cc) {
  bool negate = cc & 1;
  switch (cc >> 1) {
    case 0: g.test(flags.cvt32(), uint32_t(flag::OF)); break;
    case 1: g.test(flags.cvt32(), uint32_t(flag::CF)); break;
    case 2: g.test(flags.cvt32(), uint32_t(flag::ZF)); break;
    case 3: g.test(flags.cvt32(), uint32_t(flag::CF | flag::ZF)); break;
    case 4: g.test(flags.cvt32(), uint32_t(flag::SF)); break;
    case 5: g.test(flags.cvt32(), uint32_t(flag::PF)); break;
    default:
      // L: SF != OF. OF (bit 11) shifted down by 4 lands on SF (bit 7). LE adds ZF.
      g.mov(r11d, flags.cvt32());
      g.shr(r11d, 4);
      g.xor_(r11d, flags.cvt32());
      g.and_(r11d, uint32_t(flag::SF));
      if ((cc >> 1) == 7) {
        g.mov(d.cvt32(), flags.cvt32());
        g.and_(d.cvt32(), uint32_t(flag::ZF));
        g.or_(r11d, d.cvt32());
      }
      g.test(r11d, r11d);
      break;
  }
  if (negate) g.setz(d.cvt8());
  else g.setnz(d.cvt8());
  g.movzx(d.cvt32(), d.cvt8());
}

}  // namespace vireo::jit
