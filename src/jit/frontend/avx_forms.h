// The VEX forms the JIT translates (AVX, AVX2, FMA3, F16C), shared by the frontend (which
// instructions to translate, and as which IR op) and the backend (how to re-emit them).
//
// Host and guest are the same ISA, so a guest VEX instruction is re-emitted as itself: guest
// YMM register n is host ymm n (the vector operands stay as they are), its memory operand
// becomes [r15 + guest address] and its GPR operand the host register the allocator gives the
// value. The IR op carries the guest instruction's bytes; both sides decode them with Zydis
// and agree through analyze_vex(), as interp/avx_host.cpp does for the interpreter.
#pragma once

#include <Zydis/Zydis.h>

#include <cstdint>

namespace vireo::jit {

struct VexForm {
  ZydisDecodedInstruction zi;
  ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
  int mem = -1;              // index of the memory operand (visible), or -1
  bool mem_read = false, mem_write = false;
  uint8_t align = 1;         // required alignment of the memory operand (vmovdqa & co.)
  int gpr = -1;              // index of the GPR operand, or -1
  bool gpr_write = false;    // the GPR operand is the destination (vpmovmskb, vmovd r, xmm)
  int dst = -1;              // the vector register written (its index 0..15), or -1
  bool dst_wide = false;     // ... as a YMM register
  uint16_t vec_read = 0;     // vector registers read (low halves at least)
  uint16_t vec_read_wide = 0;  // ... of which all 256 bits are read (YMM operands)
  bool writes_flags = false; // vptest, vtestps/pd, v(u)comis*: all six arithmetic flags
};

// Decodes a guest instruction's bytes; false unless it is a VEX instruction of the AVX, AVX2,
// FMA or F16C sets with the operand shapes translated code handles (vector registers, at most
// one ordinary memory operand, at most one GPR, an imm8). Not: gathers (VSIB), masked moves,
// vzeroupper/vzeroall (their own op), vldmxcsr/vstmxcsr, and anything with implicit register
// operands (vpcmpestri & co.).
bool analyze_vex(const uint8_t* bytes, unsigned len, VexForm& f);

// The IR carries the instruction bytes in two immediates: bytes 0..7, and bytes 8..14 with the
// length in bits 56..63.
struct VexBytes {
  uint64_t lo, hi;
};
VexBytes pack_vex(const uint8_t* bytes, unsigned len);
unsigned unpack_vex(uint64_t lo, uint64_t hi, uint8_t (&out)[16]);

}  // namespace vireo::jit
