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

}  // namespace decode_template_detail

// Makes `in`, a decode of bytes with the same shape (in.shape_len != 0, the same first
// shape_len bytes as `bytes`), the decode of `bytes` at `rip`. `bytes` has 16 readable bytes
// (those past the instruction are not kept).
inline void apply_template(Insn& in, const uint8_t* bytes, uint64_t rip) {
  using decode_template_detail::read_value;
  const unsigned len = in.len;
  uint8_t raw[16] = {};
  std::memcpy(raw, bytes, len);
  std::memcpy(in.bytes, raw, sizeof in.bytes);
  const uint8_t* const disp = bytes + in.shape_len;
  const uint8_t* const imm0 = disp + in.disp_len;
  const uint8_t* const imm1 = imm0 + in.imm_len[0];
  const uint64_t end = rip + len;
  for (unsigned i = 0, src = in.op_src; src; ++i, src >>= 2) {
    int64_t v;
    switch (src & 3) {
      case kSrcDisp: v = read_value(disp, in.disp_len, true); break;
      case kSrcImm0: v = read_value(imm0, in.imm_len[0], in.imm_signed & 1); break;
      case kSrcImm1: v = read_value(imm1, in.imm_len[1], in.imm_signed & 2); break;
      default: continue;
    }
    in.op[i].disp = in.rip_ops & (1u << i) ? int64_t(end + uint64_t(v)) : v;
  }
  // (An operand computed from the address with no bytes of its own does not exist: every
  // relative operand is a displacement or an immediate, so op_src covers rip_ops.)
}

}  // namespace vireo
