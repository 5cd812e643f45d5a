#include "jit/backend/x64/emit_bits.h"

#include "cpu/cpu_state.h"
#include "jit/backend/x64/emit_alu.h"
#include "jit/frontend/bit_kind.h"

namespace vireo::jit {

using Xbyak::Reg64;

void emit_bit_op(Xbyak::CodeGenerator& g, uint64_t desc, const Reg64& d, const Reg64& a,
                 const Reg64& b, bool flags) {
  auto kind = BitKind(desc & 0xFF);
  unsigned size = unsigned((desc >> 8) & 0xFF);
  Xbyak::Reg r = sized(g.r11, size);
  Xbyak::Reg src = sized(b, size);
  // (bsf/bsr: `a` is the guest's destination, which a zero source leaves in place.)
  g.mov(g.r11, a);
  switch (kind) {
    case BitKind::Bt: g.bt(r, src); break;
    case BitKind::Bts: g.bts(r, src); break;
    case BitKind::Btr: g.btr(r, src); break;
    case BitKind::Btc: g.btc(r, src); break;
    case BitKind::Bsf: g.bsf(r, src); break;
    case BitKind::Bsr: g.bsr(r, src); break;
    case BitKind::Tzcnt: g.tzcnt(r, src); break;
    case BitKind::Lzcnt: g.lzcnt(r, src); break;
    case BitKind::Popcnt: g.popcnt(r, src); break;
  }
  if (flags) {
    g.pushfq();
    g.pop(d);
  } else {
    g.mov(d, g.r11);
  }
}

void emit_shift_double(Xbyak::CodeGenerator& g, uint64_t desc, const Reg64& d, const Reg64& a,
                       const Reg64& b, const Reg64& count, bool flags) {
  bool left = desc & 1;
  unsigned size = unsigned((desc >> 8) & 0xFF);
  // The operands may be in rax or rcx themselves: they move through the stack, in order.
  g.push(g.rcx);
  g.push(g.rax);
  g.push(a);
  g.push(b);
  g.push(count);
  g.pop(g.rcx);
  g.pop(g.rax);
  g.pop(g.r11);
  if (left) g.shld(sized(g.r11, size), sized(g.rax, size), g.cl);
  else g.shrd(sized(g.r11, size), sized(g.rax, size), g.cl);
  if (flags) {
    g.pushfq();
    g.pop(g.r11);
  }
  g.pop(g.rax);
  g.pop(g.rcx);
  g.mov(d, g.r11);
}

void emit_rotate_carry(Xbyak::CodeGenerator& g, uint64_t desc, const Reg64& d, const Reg64& a,
                       const Reg64& count, const Reg64& flags, bool flags_result) {
  bool left = desc & 1;
  unsigned size = unsigned((desc >> 8) & 0xFF);
  g.push(g.rcx);
  g.push(a);
  g.push(count);
  // The host runs from the guest's arithmetic flags: CF goes in, and a flag the SDM leaves
  // undefined then comes out as the hardware leaves it.
  g.mov(g.r11, flags);
  g.and_(g.r11, uint32_t(flag::ARITH));
  g.push(g.r11);
  g.popfq();
  g.pop(g.rcx);  // (pops leave the flags alone)
  g.pop(g.r11);
  if (left) g.rcl(sized(g.r11, size), g.cl);
  else g.rcr(sized(g.r11, size), g.cl);
  if (flags_result) {
    g.pushfq();
    g.pop(g.r11);
  }
  g.pop(g.rcx);
  g.mov(d, g.r11);
}

void emit_mul_wide(Xbyak::CodeGenerator& g, uint64_t desc, const Reg64& d, const Reg64& a,
                   const Reg64& b, bool flags) {
  unsigned size = unsigned(desc & 0xFF);
  bool is_signed = (desc >> 8) & 1;
  // rax and rdx may hold other live values: keep them on the stack (no call happens here, so
  // the stack's alignment does not matter).
  g.push(g.rax);
  g.push(g.rdx);
  g.mov(g.r11, b);
  g.mov(g.rax, a);
  if (is_signed) g.imul(sized(g.r11, size));
  else g.mul(sized(g.r11, size));
  if (flags) {
    g.pushfq();
    g.pop(g.r11);
  } else if (size == 2) {
    g.movzx(g.r11d, g.dx);
  } else {
    g.mov(g.r11, g.rdx);  // a 32-bit multiply wrote EDX zero-extended
  }
  g.pop(g.rdx);
  g.pop(g.rax);
  g.mov(d, g.r11);
}

void emit_add_through_value(Xbyak::CodeGenerator& g, uint64_t desc, const Reg64& d, const Reg64& a,
                            const Reg64& b, const Reg64& fl) {
  const unsigned size = unsigned(desc & 0xFF), bit = unsigned((desc >> 8) & 63);
  g.bt(fl, bit);  // the carry in (mov leaves CF alone)
  g.mov(g.r11, a);
  g.adc(sized(g.r11, size), sized(b, size));  // (a 32-bit adc zero-extends)
  g.mov(d, g.r11);
}

void emit_add_through_flags(Xbyak::CodeGenerator& g, uint64_t desc, const Reg64& s, const Reg64& a,
                            const Reg64& b, const Reg64& fl) {
  const unsigned size = unsigned(desc & 0xFF), bit = unsigned((desc >> 8) & 63);
  // The flags' carry bit is worked on in bit 0 of r11 (rotated there and back), so that
  // adc's carry out goes straight into it: no other scratch register, no RFLAGS capture.
  g.mov(g.r11, fl);
  if (bit) g.ror(g.r11, int(bit));
  g.btr(g.r11, 0);  // CF = the carry in; the bit cleared
  // The sum, in s: a's or b's register perhaps (a + b is b + a); fl is read already.
  if (s.getIdx() == b.getIdx()) {
    g.adc(sized(s, size), sized(a, size));
  } else {
    if (s.getIdx() != a.getIdx()) g.mov(s, a);
    g.adc(sized(s, size), sized(b, size));
  }
  g.adc(g.r11, 0);  // the carry out into the cleared bit
  if (bit) g.rol(g.r11, int(bit));
}

void emit_pdep_pext(Xbyak::CodeGenerator& g, bool deposit, unsigned size, const Reg64& d, const Reg64& a,
                    const Reg64& b) {
  // (VEX three-operand forms: the destination may be either source)
  if (size == 8) {
    if (deposit) g.pdep(d, a, b);
    else g.pext(d, a, b);
  } else {
    if (deposit) g.pdep(d.cvt32(), a.cvt32(), b.cvt32());
    else g.pext(d.cvt32(), a.cvt32(), b.cvt32());
  }
}

void emit_crc32(Xbyak::CodeGenerator& g, unsigned size, const Reg64& d, const Reg64& a, const Reg64& b) {
  // (r11, not d: d may be b's register. The 32-bit forms zero the upper half, and so does
  // the 64-bit one: SDM CRC32, "DEST[63:32] <- 0")
  g.mov(g.r11d, a.cvt32());
  switch (size) {
    case 1: g.crc32(g.r11d, b.cvt8()); break;
    case 2: g.crc32(g.r11d, b.cvt16()); break;
    case 4: g.crc32(g.r11d, b.cvt32()); break;
    default: g.crc32(g.r11, b); break;
  }
  g.mov(d, g.r11);
}

}  // namespace vireo::jit
