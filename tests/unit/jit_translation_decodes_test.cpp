// The translator's own decodes (jit/frontend/translation_decodes.h): an instruction decoded
// again at the same pc from the same bytes, or one of a shape decoded before, is what Zydis
// gives for it, without a Zydis call; other bytes at a known pc are decoded afresh.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "cpu/decoder.h"
#include "jit/frontend/translation_decodes.h"

namespace vireo::test {
namespace {

// Decoder::decode's answer for `bytes` at `pc` (fn, which it leaves null, aside).
Insn zydis_decode(const std::vector<uint8_t>& bytes, uint64_t pc) {
  static const Decoder decoder(CpuMode::Long64);
  Insn in{};
  EXPECT_TRUE(decoder.decode(bytes.data(), bytes.size(), pc, in));
  in.fn = nullptr;
  return in;
}

// TranslationDecodes' answer, which must be Zydis's field for field.
void expect_as_zydis(jit::TranslationDecodes& d, const std::vector<uint8_t>& bytes, uint64_t pc) {
  Insn in{};
  ASSERT_TRUE(d.decode(bytes.data(), bytes.size(), pc, in));
  in.fn = nullptr;
  const Insn want = zydis_decode(bytes, pc);
  EXPECT_EQ(std::memcmp(&in, &want, sizeof in), 0) << "pc " << std::hex << pc << " mnemonic " << in.mnemonic;
  EXPECT_EQ(in.len, bytes.size());
}

}  // namespace

TEST(JitTranslationDecodes, SamePcAndSameShapeAreZydisDecodesWithoutZydis) {
  jit::TranslationDecodes d;
  const std::vector<uint8_t> load8 = {0x48, 0x8B, 0x45, 0xF8};     // mov rax, [rbp-8]
  const std::vector<uint8_t> load16 = {0x48, 0x8B, 0x45, 0xF0};    // mov rax, [rbp-0x10]
  const std::vector<uint8_t> call = {0xE8, 0x10, 0x20, 0x00, 0x00};  // call rel32
  const std::vector<uint8_t> call_back = {0xE8, 0xF0, 0xFF, 0xFF, 0xFF};
  const std::vector<uint8_t> rip_load = {0x48, 0x8B, 0x05, 0x44, 0x33, 0x22, 0x11};  // mov rax, [rip+d]
  const std::vector<uint8_t> rip_load2 = {0x48, 0x8B, 0x05, 0x00, 0x00, 0x00, 0x80};
  const std::vector<uint8_t> imm = {0x48, 0x81, 0xC3, 0x78, 0x56, 0x34, 0x12};  // add rbx, imm32
  const std::vector<uint8_t> imm2 = {0x48, 0x81, 0xC3, 0x00, 0x00, 0x00, 0xF0};

  expect_as_zydis(d, load8, 0x401000);
  EXPECT_EQ(d.zydis(), 1u);
  expect_as_zydis(d, load8, 0x401000);  // the same pc and bytes
  EXPECT_EQ(d.same_pc(), 1u);
  expect_as_zydis(d, load16, 0x402000);  // the same shape, another displacement
  EXPECT_EQ(d.same_shape(), 1u);
  expect_as_zydis(d, call, 0x403000);
  expect_as_zydis(d, call_back, 0x7ffff7a01234);  // a relative target from another address
  expect_as_zydis(d, rip_load, 0x404000);
  expect_as_zydis(d, rip_load2, 0x405ff0);
  expect_as_zydis(d, imm, 0x406000);
  expect_as_zydis(d, imm2, 0x406100);  // (sign-extended)
  EXPECT_EQ(d.zydis(), 4u);  // load8, call, rip_load, imm: the others are their shapes'
  EXPECT_EQ(d.same_shape(), 4u);

  // Other bytes at a pc decoded before are not the decode made there: the slot's bytes are
  // checked, as the interpreter tier's cache checks its entries.
  expect_as_zydis(d, call, 0x401000);
  EXPECT_EQ(d.same_pc(), 1u);
  expect_as_zydis(d, load16, 0x401000);
  EXPECT_EQ(d.same_pc(), 1u);
  expect_as_zydis(d, load16, 0x401000);
  EXPECT_EQ(d.same_pc(), 2u);
  // Fewer bytes readable than the decode made there is not that decode either.
  Insn in{};
  EXPECT_FALSE(d.decode(load16.data(), 3, 0x401000, in));
  // Nor an instruction: 06 (push es) is invalid in 64-bit mode.
  const uint8_t bad[] = {0x06, 0x90};
  EXPECT_FALSE(d.decode(bad, sizeof bad, 0x407000, in));
}

}  // namespace vireo::test
