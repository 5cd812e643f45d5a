// Host emission of the bit instructions, the double shifts, the rotates through carry and the
// one-operand multiply (BitOp, ShiftDouble, RotateCarry, MulHigh and their Flags ops): each is the guest's own instruction run on the host at the guest
// width, so results and defined flags are exactly the hardware's.
#pragma once

#include <xbyak/xbyak.h>

#include <cstdint>

namespace vireo::jit {

// d = BitOp(desc, a, b), or its RFLAGS when `flags`. Uses r11 as scratch.
void emit_bit_op(Xbyak::CodeGenerator& g, uint64_t desc, const Xbyak::Reg64& d,
                 const Xbyak::Reg64& a, const Xbyak::Reg64& b, bool flags);

// d = RotateCarry(desc, a, count, flags), or its RFLAGS when `flags_result`. Uses r11 as
// scratch; rcx (the count goes through CL) is saved and restored around it.
void emit_rotate_carry(Xbyak::CodeGenerator& g, uint64_t desc, const Xbyak::Reg64& d,
                       const Xbyak::Reg64& a, const Xbyak::Reg64& count, const Xbyak::Reg64& flags,
                       bool flags_result);

// d = MulHigh(desc, a, b), or the RFLAGS of that multiply when `flags`. Uses r11 as scratch;
// rax and rdx (which the host mul needs) are saved and restored around it.
void emit_mul_wide(Xbyak::CodeGenerator& g, uint64_t desc, const Xbyak::Reg64& d,
                   const Xbyak::Reg64& a, const Xbyak::Reg64& b, bool flags);

// d = ShiftDouble(desc, a, b, count), or its RFLAGS when `flags`. Uses r11 as scratch; rax
// and rcx (the count goes through CL) are saved and restored around it.
void emit_shift_double(Xbyak::CodeGenerator& g, uint64_t desc, const Xbyak::Reg64& d,
                       const Xbyak::Reg64& a, const Xbyak::Reg64& b, const Xbyak::Reg64& count,
                       bool flags);

// d = AddThrough(desc, a, b, fl): a + b with the carry in bit `bit` of fl (desc = size |
// bit << 8). d may be any operand's register. Uses r11.
void emit_add_through_value(Xbyak::CodeGenerator& g, uint64_t desc, const Xbyak::Reg64& d,
                            const Xbyak::Reg64& a, const Xbyak::Reg64& b, const Xbyak::Reg64& fl);
// FlagsAddThrough(desc, a, b, fl), left in r11, with the same sum in s (which may be any
// operand's register). Only movs that keep r11 may come between it and the use of r11.
void emit_add_through_flags(Xbyak::CodeGenerator& g, uint64_t desc, const Xbyak::Reg64& s,
                            const Xbyak::Reg64& a, const Xbyak::Reg64& b, const Xbyak::Reg64& fl);

// d = Pdep or Pext (size 4 or 8) of source a under mask b: BMI2's own instruction (the
// frontend emits the ops only where the host has BMI2). No scratch, no flags.
void emit_pdep_pext(Xbyak::CodeGenerator& g, bool deposit, unsigned size, const Xbyak::Reg64& d,
                    const Xbyak::Reg64& a, const Xbyak::Reg64& b);

// d = Crc32 of the CRC in a's low 32 bits and the low `size` bytes of b: SSE4.2's crc32
// (emitted only where the host has it). Uses r11 as scratch.
void emit_crc32(Xbyak::CodeGenerator& g, unsigned size, const Xbyak::Reg64& d, const Xbyak::Reg64& a,
                const Xbyak::Reg64& b);

}  // namespace vireo::jit
