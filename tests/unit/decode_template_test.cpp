// The decode memo's templates (cpu/decode_template.h): an instruction decoded from another of
// the same shape, its displacement and immediates read from its own bytes, must be exactly
// what the decoder gives for it. Checked on every instruction of real programs' text (each
// against the first one decoded of its shape, at another address), on each of them with its
// displacement and immediates replaced by edge values, and on encodings picked for their
// layout (moffs, imm8 sign extension, two immediates, VEX, RIP- and EIP-relative operands).
#include <elf.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "cpu/decode_template.h"
#include "cpu/decoder.h"
#include "cpu/shape_length.h"
#include "elf_text.h"

namespace vireo::test {
namespace {

// The fields the decoder writes, compared; the first difference, or "" when equal.
std::string difference(const Insn& got, const Insn& want) {
  auto f = [](const char* name, int64_t a, int64_t b) {
    return a == b ? std::string() : std::string(name) + " " + std::to_string(a) + " != " + std::to_string(b);
  };
  std::string d;
  for (auto s : {f("mnemonic", got.mnemonic, want.mnemonic), f("len", got.len, want.len),
                 f("opsize", got.opsize, want.opsize), f("addrsize", got.addrsize, want.addrsize),
                 f("nops", got.nops, want.nops), f("prefixes", got.prefixes, want.prefixes),
                 f("cc", got.cc, want.cc), f("opcode", got.opcode, want.opcode), f("map", got.map, want.map),
                 f("rip_ops", got.rip_ops, want.rip_ops), f("shape_len", got.shape_len, want.shape_len),
                 f("disp_len", got.disp_len, want.disp_len), f("imm_len0", got.imm_len[0], want.imm_len[0]),
                 f("imm_len1", got.imm_len[1], want.imm_len[1]), f("imm_signed", got.imm_signed, want.imm_signed),
                 f("op_src", got.op_src, want.op_src),
                 f("bytes", std::memcmp(got.bytes, want.bytes, sizeof got.bytes), 0)})
    if (d.empty()) d = s;
  for (unsigned i = 0; i < 4 && d.empty(); ++i) {
    const Operand &a = got.op[i], &b = want.op[i];
    for (auto s : {f("kind", int(a.kind), int(b.kind)), f("size", a.size, b.size),
                   f("rclass", int(a.rclass), int(b.rclass)), f("reg", a.reg, b.reg), f("seg", a.seg, b.seg),
                   f("base", a.base, b.base), f("index", a.index, b.index), f("scale", a.scale, b.scale),
                   f("disp", a.disp, b.disp)})
      if (d.empty() && !s.empty()) d = "op " + std::to_string(i) + " " + s;
  }
  return d;
}

// Checks `bytes` at `rip` decoded from the template against the decoder's own answer.
struct Checker {
  Decoder dec;
  std::map<std::string, std::pair<Insn, uint64_t>> templates;  // shape bytes -> first decode, its rip
  size_t checked = 0, mismatches = 0, shaped = 0, guessed = 0;
  std::string first_mismatch;

  void mismatch(const uint8_t* bytes, unsigned len, uint64_t rip, const std::string& what) {
    if (mismatches++ == 0) first_mismatch = hex_bytes(bytes, len) + " at " + std::to_string(rip) + ": " + what;
  }

  // The template's decode of `bytes` (16 readable) at `rip` equals the decoder's; `fresh` is
  // the decoder's.
  void compare(const Insn& tmpl, const uint8_t* bytes, uint64_t rip, const Insn& fresh) {
    Insn copy = tmpl;
    apply_template(copy, bytes, rip);
    // The copying form (the interpreter's memo: the layout read from the template, the entry
    // it fills left with another instruction's fields) gives the same, byte for byte.
    Insn into;
    std::memset(&into, 0xA5, sizeof into);
    apply_template(into, tmpl, bytes, rip);
    if (std::memcmp(&into, &copy, sizeof into) != 0) mismatch(bytes, fresh.len, rip, "the copying form differs");
    copy.fn = fresh.fn;
    ++checked;
    const std::string d = difference(copy, fresh);
    if (!d.empty()) mismatch(bytes, fresh.len, rip, d);
  }

  // Decodes the instruction at `bytes` (16 readable), checks it against the first decode of
  // its shape, and the same instruction with its values replaced. Returns its length (0:
  // undecodable).
  unsigned check(const uint8_t* bytes, uint64_t rip) {
    Insn fresh;
    if (!dec.decode(bytes, 15, rip, fresh)) return 0;
    if (fresh.shape_len == 0) return fresh.len;
    ++shaped;
    if (guess_shape_length(bytes) == fresh.shape_len) ++guessed;
    const std::string key(reinterpret_cast<const char*>(bytes), fresh.shape_len);
    auto [it, added] = templates.try_emplace(key, fresh, rip);
    if (!added) compare(it->second.first, bytes, rip, fresh);
    // The same shape with other values, at another address: each value field all zeros, all
    // ones, the sign bit alone, the bits below it, and a mixed pattern.
    const unsigned tail = fresh.len - fresh.shape_len;
    for (uint8_t fill : {0x00, 0xFF, 0x80, 0x7F, 0x5A}) {
      uint8_t other[16] = {};
      std::memcpy(other, bytes, fresh.len);
      for (unsigned i = 0; i < tail; ++i) {
        uint8_t b = fill;
        if (fill == 0x80 || fill == 0x7F) {  // the sign bit is the top byte's of each field
          const unsigned at = fresh.shape_len + i;
          const unsigned d_end = fresh.shape_len + fresh.disp_len, i0_end = d_end + fresh.imm_len[0];
          const bool top = at + 1 == d_end || at + 1 == i0_end || at + 1 == fresh.len;
          b = top ? fill : (fill == 0x80 ? 0x00 : 0xFF);
        }
        other[fresh.shape_len + i] = b;
      }
      const uint64_t other_rip = rip ^ 0x123456789ull;
      Insn want;
      if (!dec.decode(other, 15, other_rip, want)) {
        mismatch(other, fresh.len, other_rip, "the decoder refuses a value its template accepts");
        continue;
      }
      compare(fresh, other, other_rip, want);
    }
    return fresh.len;
  }
};

TEST(DecodeTemplate, EveryInstructionOfRealProgramsDecodesAsItsShapesTemplate) {
  Checker c;
  size_t programs = 0;
  for (const char* path : {"/usr/bin/python3", "/usr/lib/x86_64-linux-gnu/libc.so.6"}) {
    auto sections = elf_text_sections(path);
    if (sections.empty()) continue;
    ++programs;
    for (auto& [addr, bytes] : sections) {
      // A linear sweep: data in the text (rare) decodes as something or is stepped over.
      for (size_t off = 0; off + 16 <= bytes.size();) {
        const unsigned len = c.check(bytes.data() + off, addr + off);
        off += len ? len : 1;
      }
    }
  }
  if (programs == 0) GTEST_SKIP() << "no program text to read";
  EXPECT_EQ(c.mismatches, 0u) << c.first_mismatch;
  std::printf("%zu instructions with a template, %zu copies checked, shape length guessed for %zu\n", c.shaped,
              c.checked, c.guessed);
  // Most instructions have a template, and a real program's text repeats shapes.
  EXPECT_GT(c.shaped, 200000u);
  EXPECT_GT(c.checked, c.shaped * 5);
  // The memo's one probe is at the shape's length as guessed from the opcode maps: right for
  // all but a few (a wrong guess is a decode, not an error).
  EXPECT_GT(c.guessed, c.shaped - c.shaped / 1000) << c.guessed << " of " << c.shaped;
}

TEST(DecodeTemplate, EncodingsChosenForTheirLayout) {
  const std::vector<std::vector<uint8_t>> cases = {
      {0x48, 0xA1, 1, 2, 3, 4, 5, 6, 7, 0x88},          // mov rax, [moffs64]
      {0x67, 0xA1, 1, 2, 3, 0x84},                      // mov eax, [moffs32] (32-bit address)
      {0xA2, 0xF0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},  // mov [moffs64], al
      {0x48, 0x83, 0xC0, 0x80},                         // add rax, -128 (imm8 sign-extended)
      {0x83, 0xE0, 0xF0},                               // and eax, -16
      {0x66, 0x05, 0x34, 0x92},                         // add ax, imm16
      {0x48, 0xB8, 1, 2, 3, 4, 5, 6, 7, 0xF8},          // mov rax, imm64
      {0x48, 0xC7, 0xC0, 0x00, 0x00, 0x00, 0x80},       // mov rax, imm32 sign-extended
      {0xB8, 0x00, 0x00, 0x00, 0x80},                   // mov eax, imm32
      {0xC8, 0x10, 0x80, 0x81},                         // enter 0x8010, 0x81 (two immediates)
      {0x66, 0x0F, 0x78, 0xC1, 0x08, 0x90},             // extrq xmm1, 8, 0x90 (two immediates)
      {0x6A, 0x80},                                     // push -128
      {0x68, 0x00, 0x00, 0x00, 0x80},                   // push imm32
      {0xC2, 0x10, 0x80},                               // ret 0x8010
      {0xE8, 0x00, 0x00, 0x00, 0x80},                   // call rel32 (backwards)
      {0xEB, 0x80},                                     // jmp rel8
      {0x0F, 0x85, 0xFF, 0xFF, 0xFF, 0x7F},             // jne rel32
      {0xE3, 0x10},                                     // jrcxz
      {0x67, 0xE3, 0x10},                               // jecxz
      {0x48, 0x8D, 0x05, 0x00, 0x00, 0x00, 0x80},       // lea rax, [rip - 2^31]
      {0xC7, 0x05, 0x10, 0, 0, 0, 0x78, 0x56, 0x34, 0x12},  // mov dword [rip + 0x10], imm32
      {0x80, 0x3D, 0xF0, 0xFF, 0xFF, 0xFF, 0x80},       // cmp byte [rip - 0x10], 0x80
      {0x48, 0x8B, 0x44, 0x24, 0x80},                   // mov rax, [rsp - 0x80] (SIB, disp8)
      {0x48, 0x8B, 0x04, 0x25, 0x00, 0x00, 0x00, 0x80}, // mov rax, [abs32] (SIB, no base)
      {0x8B, 0x84, 0x88, 0x00, 0x00, 0x00, 0x80},       // mov eax, [rax + rcx*4 - 2^31]
      {0x66, 0x67, 0x8B, 0x46, 0x80},                   // mov ax, [esi - 0x80]
      {0x64, 0x48, 0x8B, 0x04, 0x25, 0x28, 0, 0, 0},    // mov rax, fs:[0x28]
      {0xC4, 0xE3, 0xFD, 0x00, 0xC1, 0x80},             // vpermq ymm0, ymm1, 0x80 (VEX3, imm8)
      {0xC5, 0xF9, 0x6F, 0x44, 0x24, 0x80},             // vmovdqa xmm0, [rsp - 0x80] (VEX2)
      {0xC4, 0xE3, 0x71, 0x4A, 0xC2, 0x30},             // vblendvps xmm0, xmm1, xmm2, xmm3 (is4)
      {0x0F, 0x0F, 0xC1, 0x9E},                         // pfadd mm0, mm1 (3DNow!)
      {0x67, 0x48, 0x8D, 0x15, 0x20, 0x00, 0x00, 0x00}, // lea rdx, [eip + 0x20]
      {0xF3, 0x41, 0x90},                               // xchg r8d, eax (F3 ignored)
      {0x66, 0x0F, 0x3A, 0x0F, 0xC1, 0x80},             // palignr xmm0, xmm1, 0x80
      {0x0F, 0xBA, 0xE0, 0x3F},                         // bt eax, 63
      {0xC1, 0xE0, 0x80},                               // shl eax, 0x80
      {0xD1, 0xE0},                                     // shl eax, 1 (an immediate with no bytes)
      {0xF6, 0xC3, 0x80},                               // test bl, 0x80
      {0x66, 0xF7, 0xC3, 0x00, 0x80},                   // test bx, 0x8000
      {0x48, 0x69, 0xC1, 0x00, 0x00, 0x00, 0x80},       // imul rax, rcx, imm32
      {0x66, 0x6B, 0xC1, 0x80},                         // imul ax, cx, -128
  };
  Checker c;
  size_t shaped = 0;
  for (size_t k = 0; k < cases.size(); ++k) {
    uint8_t bytes[16] = {};
    std::memcpy(bytes, cases[k].data(), cases[k].size());
    Insn in;
    ASSERT_TRUE(c.dec.decode(bytes, 15, 0x401000, in)) << hex_bytes(bytes, cases[k].size());
    ASSERT_EQ(in.len, cases[k].size()) << hex_bytes(bytes, cases[k].size());
    if (in.shape_len) {
      ++shaped;
      EXPECT_EQ(guess_shape_length(bytes), in.shape_len) << hex_bytes(bytes, cases[k].size());
    }
    c.check(bytes, 0x7FFFF0000000ull + k * 0x1000 + 3);
  }
  EXPECT_EQ(c.mismatches, 0u) << c.first_mismatch;
  EXPECT_GT(shaped, cases.size() - 5);
  // Those whose values are not all in their bytes' values have no template.
  Insn in;
  for (const auto& b : std::vector<std::vector<uint8_t>>{cases[29], cases[30], cases[31]}) {
    ASSERT_TRUE(c.dec.decode(b.data(), b.size(), 0x1000, in)) << hex_bytes(b.data(), b.size());
    EXPECT_EQ(in.shape_len, 0u) << hex_bytes(b.data(), b.size());
  }
  // The layout of a few, as the encoding has it.
  const uint8_t call[] = {0xE8, 0x00, 0x00, 0x00, 0x80};
  ASSERT_TRUE(c.dec.decode(call, sizeof call, 0x1000, in));
  EXPECT_EQ(in.shape_len, 1u);
  EXPECT_EQ(in.imm_len[0], 4u);
  EXPECT_EQ(in.op_src & 3, kSrcImm0);
  const uint8_t enter[] = {0xC8, 0x10, 0x80, 0x81};
  ASSERT_TRUE(c.dec.decode(enter, sizeof enter, 0x1000, in));
  EXPECT_EQ(in.shape_len, 1u);
  EXPECT_EQ(in.op_src, kSrcImm0 | (kSrcImm1 << 2));
}

}  // namespace
}  // namespace vireo::test
