// Host emission of div/idiv (the Div op): the guest's own division on the host, after checks
// that it cannot fault there; the cases it could (#DE, and signed dividends wider than the
// width) jump to `slow`, where the interpreter runs the instruction.
#pragma once

#include <xbyak/xbyak.h>

#include <cstdint>

namespace vireo::jit {

// d = the quotient of high:low / divisor at the width of `desc` (size | signed << 8),
// zero-extended. Uses r11 as scratch; rax and rdx are saved and restored around it.
// `high_is_sign`: the IR proves high the sign of low (a 64-bit `cqo; idiv`): the dividend is
// then built with the host's own cqo and only the divisor is checked.
// `rem` (a host register index, not rax's or rdx's saved value: they are not restored where
// it is one of them; -1: none): the host division's remainder there too, zero-extended from
// the width (from 32 bits with `rem32`), for words and wider (a byte's is in AH).
void emit_div(Xbyak::CodeGenerator& g, uint64_t desc, const Xbyak::Reg64& d,
              const Xbyak::Reg64& high, const Xbyak::Reg64& low, const Xbyak::Reg64& divisor,
              const Xbyak::Label& slow, bool high_is_sign = false, int rem = -1, bool rem32 = false);

}  // namespace vireo::jit
