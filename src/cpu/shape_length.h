// The length of an instruction's shape (cpu/decode_template.h), guessed from its bytes
// without decoding it: its prefixes, its opcode (and VEX/XOP or 0F escape bytes), a ModRM byte
// if the opcode takes one and a SIB byte if the ModRM names one. The decode memo then probes
// one key, the hash of exactly those bytes, instead of one per possible length (the four slot
// loads were half of `memo_find`'s time on python's start-up). A wrong guess only misses: a
// template is used only when its own shape, as the decoder found it, is the guess's length
// and its bytes are these bytes' first.
#pragma once

#include <array>
#include <cstdint>

namespace vireo {

namespace shape_detail {

// Opcodes that take a ModRM byte, one bit each: the one-byte map, then the 0F map (SDM Vol. 2,
// Appendix A opcode maps).
struct ModrmMaps {
  std::array<bool, 256> one{}, two{};
};
constexpr ModrmMaps kModrm = [] {
  ModrmMaps m{};
  for (unsigned row = 0; row < 4; ++row)  // 00-3F: the ALU ops' r/m forms (x0-x3, x8-xB)
    for (unsigned op : {0u, 1u, 2u, 3u, 8u, 9u, 10u, 11u}) m.one[row * 16 + op] = true;
  for (unsigned op : {0x62u, 0x63u, 0x69u, 0x6Bu, 0xC0u, 0xC1u, 0xC4u, 0xC5u, 0xC6u, 0xC7u, 0xD0u, 0xD1u, 0xD2u,
                      0xD3u, 0xF6u, 0xF7u, 0xFEu, 0xFFu})
    m.one[op] = true;
  for (unsigned op = 0x80; op <= 0x8F; ++op) m.one[op] = true;
  for (unsigned op = 0xD8; op <= 0xDF; ++op) m.one[op] = true;  // x87
  m.two.fill(true);
  for (unsigned op : {0x04u, 0x05u, 0x06u, 0x07u, 0x08u, 0x09u, 0x0Au, 0x0Bu, 0x0Cu, 0x0Eu, 0x77u, 0xA0u, 0xA1u,
                      0xA2u, 0xA8u, 0xA9u, 0xAAu})
    m.two[op] = false;
  for (unsigned op = 0x30; op <= 0x37; ++op) m.two[op] = false;  // wrmsr, rdtsc, ..., sysenter
  for (unsigned op = 0x80; op <= 0x8F; ++op) m.two[op] = false;  // jcc rel32
  for (unsigned op = 0xC8; op <= 0xCF; ++op) m.two[op] = false;  // bswap
  return m;
}();

constexpr bool is_legacy_prefix(uint8_t b) {
  return b == 0x66 || b == 0x67 || b == 0xF2 || b == 0xF3 || b == 0xF0 || b == 0x2E || b == 0x36 ||
         b == 0x3E || b == 0x26 || b == 0x64 || b == 0x65;
}

// What each byte is to the guess where an opcode may start: a prefix (legacy or REX), an
// escape, or an opcode of the one-byte map with or without a ModRM byte. One table load per
// byte instead of eleven compares per prefix and a chain of tests for the escapes (the
// guess was 2.6% of cold_funcs' CPU under the jit, issue 22).
enum ByteKind : uint8_t { kOpcode, kOpcodeModrm, kPrefix, kEscape0F, kVex3, kVex2, kXopOrPop };
constexpr std::array<uint8_t, 256> kByteKind = [] {
  std::array<uint8_t, 256> k{};
  for (unsigned b = 0; b < 256; ++b)
    k[b] = is_legacy_prefix(uint8_t(b)) || (b & 0xF0) == 0x40 ? kPrefix : kModrm.one[b] ? kOpcodeModrm : kOpcode;
  k[0x0F] = kEscape0F;
  k[0xC4] = kVex3;
  k[0xC5] = kVex2;
  k[0x8F] = kXopOrPop;
  return k;
}();

}  // namespace shape_detail

// The guessed shape length of the 64-bit mode instruction whose first 16 bytes are at `b`
// (1..15; any value is safe, see above).
inline unsigned guess_shape_length(const uint8_t* b) {
  using namespace shape_detail;
  unsigned i = 0;
  while (i < 11 && kByteKind[b[i]] == kPrefix) ++i;  // (REX, then more)
  bool modrm;
  switch (kByteKind[b[i++]]) {
    case kEscape0F: {
      const uint8_t op2 = b[i++];
      if (op2 == 0x38 || op2 == 0x3A) {
        ++i;
        modrm = true;
      } else {
        modrm = kModrm.two[op2];
      }
      break;
    }
    case kVex3: {  // three-byte VEX: map in the first payload byte
      const unsigned map = b[i] & 0x1F;
      i += 2;
      modrm = map != 1 || kModrm.two[b[i]];
      ++i;
      break;
    }
    case kVex2:  // two-byte VEX: the 0F map
      ++i;
      modrm = kModrm.two[b[i]];
      ++i;
      break;
    case kXopOrPop:  // XOP, or pop r/m64 (reg field 0): a ModRM either way
      if ((b[i] & 0x38) != 0) i += 3;
      modrm = true;
      break;
    case kOpcodeModrm: modrm = true; break;
    default: modrm = false; break;  // (a twelfth prefix too: no ModRM, as its opcode column says)
  }
  if (!modrm || i >= 15) return i < 15 ? i : 15;
  const uint8_t m = b[i++];
  if ((m >> 6) != 3 && (m & 7) == 4) ++i;  // SIB
  return i < 15 ? i : 15;
}

}  // namespace vireo
