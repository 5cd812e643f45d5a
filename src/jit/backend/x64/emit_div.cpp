#include "jit/backend/x64/emit_div.h"

#include "jit/backend/x64/emit_alu.h"

namespace vireo::jit {

using Xbyak::Reg64;

namespace {

// Signed: the host's idiv cannot fault when the dividend is the sign extension of the low half
// (high == sign(low)) and it is not MIN / -1 (SDM Vol. 2, IDIV: #DE on a quotient that does
// not fit). Sets rdx (AH for bytes) to that sign extension, as idiv wants it; `known_sign`:
// high is that sign by construction (rdx is set by the caller).
void check_signed(Xbyak::CodeGenerator& g, unsigned size, Xbyak::Label& fail, bool known_sign = false) {
  Xbyak::Reg div = sized(g.r11, size);
  g.test(div, div);
  g.jz(fail, Xbyak::CodeGenerator::T_NEAR);
  if (!known_sign) {
    if (size == 1) {
      g.cbw();  // AH = sign(AL)
      g.cmp(g.ah, g.dl);
    } else {
      g.push(g.rdx);
      switch (size) {
        case 2: g.cwd(); g.cmp(g.dx, g.word[g.rsp]); break;
        case 4: g.cdq(); g.cmp(g.edx, g.dword[g.rsp]); break;
        default: g.cqo(); g.cmp(g.rdx, g.qword[g.rsp]); break;
      }
      g.lea(g.rsp, g.ptr[g.rsp + 8]);  // (lea keeps the flags of the cmp)
    }
    g.jne(fail, Xbyak::CodeGenerator::T_NEAR);
  }
  Xbyak::Label fits;
  g.cmp(div, -1);
  g.jne(fits);
  g.cmp(sized(g.rax, size), 1);  // overflows exactly when the dividend is MIN
  g.jo(fail, Xbyak::CodeGenerator::T_NEAR);
  g.L(fits);
}

// The quotient (in r11) to `d` and, when `rem` is a register, the remainder (in rdx, DX for
// words) to `rem`, with rax and rdx restored but where one of them is `rem`; `fail` restores
// both and leaves for `slow`, where the interpreter runs the instruction (#DE, or a dividend too
// wide). `rem32`: the remainder's low 32 bits, zero-extended (the IR's Sub32, or a 32-bit
// division's). A word's remainder is zero-extended too (its readers take its low half only).
void finish(Xbyak::CodeGenerator& g, unsigned size, const Reg64& d, int rem, bool rem32, Xbyak::Label& fail,
            const Xbyak::Label& slow) {
  Xbyak::Label done;
  if (rem >= 0) {
    const Reg64 r(rem);
    if (size == 2) g.movzx(r.cvt32(), g.dx);
    else if (size == 4 || rem32) g.mov(r.cvt32(), g.edx);  // (in place too: the upper half cleared)
    else if (rem != g.rdx.getIdx()) g.mov(r, g.rdx);
  }
  // (lea keeps the flags and drops a saved register the remainder now holds)
  if (rem == g.rdx.getIdx()) g.lea(g.rsp, g.ptr[g.rsp + 8]);
  else g.pop(g.rdx);
  if (rem == g.rax.getIdx()) g.lea(g.rsp, g.ptr[g.rsp + 8]);
  else g.pop(g.rax);
  g.mov(d, g.r11);
  g.jmp(done);
  g.L(fail);
  g.pop(g.rdx);
  g.pop(g.rax);
  g.jmp(slow, Xbyak::CodeGenerator::T_NEAR);
  g.L(done);
}

}  // namespace

void emit_div(Xbyak::CodeGenerator& g, uint64_t desc, const Reg64& d, const Reg64& high,
              const Reg64& low, const Reg64& divisor, const Xbyak::Label& slow, bool high_is_sign, int rem,
              bool rem32) {
  unsigned size = unsigned(desc & 0xFF);
  bool is_signed = (desc >> 8) & 1;
  Xbyak::Label fail;
  if (high_is_sign && is_signed && size == 8) {
    // `cqo; idiv`: rdx is the host's cqo of the low half, which is `high`; no stack round
    // trip of the operands and no compare of high with the sign (lua's `%`: 20 host
    // instructions -> 12 before the idiv).
    g.mov(g.r11, divisor);
    g.push(g.rax);
    g.push(g.rdx);
    if (low.getIdx() != g.rax.getIdx()) g.mov(g.rax, low);
    check_signed(g, size, fail, true);
    g.cqo();
    g.idiv(g.r11);
    g.mov(g.r11, g.rax);
    finish(g, size, d, rem, rem32, fail, slow);
    return;
  }
  // rax and rdx may hold other live values: keep them on the stack (no call happens here, so
  // the stack's alignment does not matter). The operands may be in rax/rdx too: they go
  // through the stack in order.
  g.mov(g.r11, divisor);
  g.push(g.rax);
  g.push(g.rdx);
  g.push(high);
  g.push(low);
  g.pop(g.rax);
  g.pop(g.rdx);
  Xbyak::Reg div = sized(g.r11, size);
  if (is_signed) {
    check_signed(g, size, fail);
    g.idiv(div);
  } else {
    // No #DE exactly when high < divisor (SDM Vol. 2, DIV); that also rules out a zero divisor.
    g.cmp(sized(g.rdx, size), div);
    g.jae(fail, Xbyak::CodeGenerator::T_NEAR);
    if (size == 1) {  // AX = AH:AL
      g.movzx(g.eax, g.al);
      g.shl(g.edx, 8);
      g.or_(g.eax, g.edx);
    }
    g.div(div);
  }
  switch (size) {
    case 1: g.movzx(g.r11d, g.al); break;
    case 2: g.movzx(g.r11d, g.ax); break;
    case 4: g.mov(g.r11d, g.eax); break;
    default: g.mov(g.r11, g.rax); break;
  }
  finish(g, size, d, rem, rem32, fail, slow);
}

}  // namespace vireo::jit
