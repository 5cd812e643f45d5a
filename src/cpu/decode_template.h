// The decode of an instruction from another's of the same shape (the interp's decode memo).
//
// An x86 instruction is its prefixes, opcode, ModRM and SIB bytes (its shape: Insn::shape_len
// of them), then its displacement, then its immediates. The shape decides the mnemonic, the
// registers, the sizes and where each operand's value comes from; the bytes after it are only
// values. So an instruction whose first shape_len bytes equal a decoded one's is that decode
// with its displacement and immediates read from its own bytes and its address-relative
// operands computed from its own address: `call rel32` to any target, `mov rax, [rbp-8]` and
// `mov rax, [rbp-0x10]`, `cmp eax, 5` and `cmp eax, 7` are one decode each (issue 22: most of
// a big program's first decodes are of shapes decoded before, at ~0.2 us each in Zydis).
// Decoder::decode fills in the layout and checks it reproduces its own answer.
#pragma once

#include <cstdint>
#include <cstring>

#include "cpu/insn.h"

namespace vireo {

namespace decode_template_detail {

// The `n`-byte (0, 1, 2, 4 or 8) little-endian value at `p`, sign- or zero-extended.
inline int64_t read_value(const uint8_t* p, unsigned n, bool sign) {
  switch (n) {
    case 1: return sign ? int64_t(int8_t(p[0])) : int64_t(p[0]);
    case 2: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return sign ? int64_t(int16_t(v)) : int64_t(v);
    }
    case 4: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return sign ? int64_t(int32_t(v)) : int64_t(v);
    }
    case 8: {
      uint64_t v;
      std::memcpy(&v, p, 8);
      return int64_t(v);
    }
    default: return 0;
  }
}

// The value of an operand whose Insn::op_src bits are `src` (not kSrcKept), in an instruction
// whose displacement (`disp_len` bytes) starts at `disp`, its immediates (`imm0_len`,
// `imm1_len`, sign-extended per bit of `sign`) after it, and which ends at address `end`.
inline int64_t operand_value(unsigned src, bool rip_relative, const uint8_t* disp, unsigned disp_len,
                             unsigned imm0_len, unsigned imm1_len, unsigned sign, uint64_t end) {
  int64_t v;
  switch (src & 3) {
    case kSrcDisp: v = read_value(disp, disp_len, true); break;
    case kSrcImm0: v = read_value(disp + disp_len, imm0_len, sign & 1); break;
    default: v = read_value(disp + disp_len + imm0_len, imm1_len, sign & 2); break;
  }
  return rip_relative ? int64_t(end + uint64_t(v)) : v;
}

}  // namespace decode_template_detail

// Whether `in`'s layout (shape_len aside) reads back from `bytes` (its own `in.len` bytes; no
// more are read) at `rip` as the operands it holds: the decoder keeps a layout only then, so
// that an operand whose value is not plainly its bytes (were there one) is never patched
// wrongly. What apply_template computes for a copy, without one.
inline bool layout_reads_back(const Insn& in, unsigned shape, const uint8_t* bytes, uint64_t rip) {
  const uint64_t end = rip + in.len;
  for (unsigned i = 0, src = in.op_src; src; ++i, src >>= 2)
    if ((src & 3) != kSrcKept &&
        decode_template_detail::operand_value(src, in.rip_ops & (1u << i), bytes + shape, in.disp_len, in.imm_len[0],
                                              in.imm_len[1], in.imm_signed, end) != in.op[i].disp)
      return false;
  return true;
}

// Which bytes of two 8-byte little-endian words at an instruction's address belong to its
// first `n` bytes (n = 0..15): lo[n] of the first word, hi[n] of the second.
struct ByteMasks {
  uint64_t lo[16], hi[16];
};
inline constexpr ByteMasks kByteMasks = [] {
  ByteMasks m{};
  for (unsigned n = 0; n < 16; ++n) {
    m.lo[n] = n >= 8 ? ~uint64_t(0) : (uint64_t(1) << (8 * n)) - 1;
    m.hi[n] = n <= 8 ? 0 : (uint64_t(1) << (8 * (n - 8))) - 1;
  }
  return m;
}();

// A hash of an instruction's shape (its first `shape` bytes, in w0 and w1 as above, and the
// length): the key of the interpreter's decode memo and of the translator's own templates.
inline uint64_t shape_hash(uint64_t w0, uint64_t w1, unsigned shape) {
  return (w0 & kByteMasks.lo[shape]) * 0x9E3779B97F4A7C15ull +
         ((w1 & kByteMasks.hi[shape]) ^ shape) * 0xC2B2AE3D27D4EB4Full;
}

// Whether the first `n` bytes of `t`'s Insn::bytes are those of w0 and w1.
inline bool same_first_bytes(const Insn& t, uint64_t w0, uint64_t w1, unsigned n) {
  uint64_t c0, c1;
  std::memcpy(&c0, t.bytes, 8);
  std::memcpy(&c1, t.bytes + 7, 8);
  c1 >>= 8;  // (bytes 8-14)
  return (((w0 ^ c0) & kByteMasks.lo[n]) | ((w1 ^ c1) & kByteMasks.hi[n])) == 0;
}

// The decode of `bytes` at `rip` from `t`, a decode of bytes with the same shape
// (t.shape_len != 0, the same first shape_len bytes as `bytes`), into `out` (which may be
// `t`). `bytes` has 16 readable bytes (those past the instruction are not kept). The layout
// is read from `t` before `out` is written: the interpreter's decode memo copies a template
// into a pool entry, and reading the layout back from the entry just written stalled on the
// stores (cc1 under the jit: a fifth of `fetch_slow`'s samples). (Inlined: a call was 13 of its
// ~85 host instructions, at each of a short process's ~3,500 copies.)
[[gnu::always_inline]] inline void apply_template(Insn& out, const Insn& t, const uint8_t* bytes, uint64_t rip) {
  const unsigned len = t.len, src_bits = t.op_src, rip_ops = t.rip_ops, sign = t.imm_signed;
  const uint8_t* const disp = bytes + t.shape_len;
  const unsigned disp_len = t.disp_len, imm0_len = t.imm_len[0], imm1_len = t.imm_len[1];
  if (&out != &t) out = t;
  // Insn::bytes: the instruction's `len` bytes, zeros after them (two fixed-size stores, the
  // second over bytes 7-14, instead of a copy of `len` bytes).
  uint64_t w0, w1;
  std::memcpy(&w0, bytes, 8);
  std::memcpy(&w1, bytes + 8, 8);
  w0 &= kByteMasks.lo[len];
  w1 &= kByteMasks.hi[len];
  const uint64_t w7 = (w0 >> 56) | (w1 << 8);
  std::memcpy(out.bytes, &w0, 8);
  std::memcpy(out.bytes + 7, &w7, 8);
  static_assert(sizeof out.bytes == 15);
  const uint64_t end = rip + len;
  for (unsigned i = 0, src = src_bits; src; ++i, src >>= 2)
    if ((src & 3) != kSrcKept)
      out.op[i].disp = decode_template_detail::operand_value(src, rip_ops & (1u << i), disp, disp_len, imm0_len,
                                                             imm1_len, sign, end);
  // (An operand computed from the address with no bytes of its own does not exist: every
  // relative operand is a displacement or an immediate, so op_src covers rip_ops.)
}

// The same in place: `in` becomes the decode of `bytes` at `rip`.
inline void apply_template(Insn& in, const uint8_t* bytes, uint64_t rip) { apply_template(in, in, bytes, rip); }

}  // namespace vireo
