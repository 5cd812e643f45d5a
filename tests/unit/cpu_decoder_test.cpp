// Decoder::decode (cpu/decoder.cpp): what an Insn keeps of Zydis's answer. Its register and
// condition-code tables, and that a record decoded into again (a reused decode-cache entry)
// holds exactly what a fresh one does.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "cpu/decoder.h"

namespace vireo {
namespace {

Insn decode(const std::vector<uint8_t>& bytes, uint8_t fill = 0, uint64_t rip = 0x401000) {
  Insn in;
  std::memset(&in, fill, sizeof in);
  EXPECT_TRUE(Decoder().decode(bytes.data(), bytes.size(), rip, in));
  return in;
}

// Every field but the padding.
void expect_same(const Insn& a, const Insn& b) {
  EXPECT_EQ(a.fn, b.fn);
  EXPECT_EQ(a.mnemonic, b.mnemonic);
  EXPECT_EQ(a.len, b.len);
  EXPECT_EQ(a.opsize, b.opsize);
  EXPECT_EQ(a.addrsize, b.addrsize);
  EXPECT_EQ(a.nops, b.nops);
  EXPECT_EQ(a.prefixes, b.prefixes);
  EXPECT_EQ(a.cc, b.cc);
  EXPECT_EQ(a.opcode, b.opcode);
  EXPECT_EQ(a.map, b.map);
  EXPECT_EQ(std::memcmp(a.bytes, b.bytes, sizeof a.bytes), 0);
  EXPECT_EQ(std::memcmp(a.op, b.op, sizeof a.op), 0);  // (Operand has no padding)
}

TEST(CpuDecoder, ARecordDecodedIntoAgainHoldsWhatAFreshOneDoes) {
  const std::vector<std::vector<uint8_t>> cases = {
      {0x48, 0x03, 0x05, 0x10, 0x00, 0x00, 0x00},        // add rax, [rip+0x10]
      {0x0F, 0x85, 0x00, 0x01, 0x00, 0x00},              // jnz +0x100
      {0xF0, 0x48, 0x0F, 0xB1, 0x0E},                    // lock cmpxchg [rsi], rcx
      {0xF3, 0x48, 0xA5},                                // rep movsq
      {0xC3},                                            // ret
      {0xC4, 0xE3, 0x71, 0x4A, 0xC2, 0x30},              // vblendvps xmm0, xmm1, xmm2, xmm3
      {0x48, 0xB8, 1, 2, 3, 4, 5, 6, 7, 8},              // mov rax, imm64
      {0x66, 0x0F, 0x3A, 0x0F, 0xC1, 0x08},              // palignr xmm0, xmm1, 8
  };
  for (const auto& c : cases) {
    const Insn fresh = decode(c, 0x00);
    const Insn reused = decode(c, 0xAB);
    expect_same(fresh, reused);
    for (size_t i = c.size(); i < sizeof fresh.bytes; ++i) EXPECT_EQ(reused.bytes[i], 0) << i;
    for (size_t i = fresh.nops; i < 4; ++i) EXPECT_EQ(reused.op[i].kind, OpKind::None);
  }
}

TEST(CpuDecoder, RegistersByClassAndIndex) {
  Insn in = decode({0x88, 0xDC});  // mov ah, bl
  EXPECT_EQ(in.op[0].rclass, RegClass::GprHigh);
  EXPECT_EQ(in.op[0].reg, 0);
  EXPECT_EQ(in.op[1].rclass, RegClass::Gpr);
  EXPECT_EQ(in.op[1].reg, 3);
  in = decode({0x44, 0x88, 0xC4});  // mov spl, r8b
  EXPECT_EQ(in.op[0].rclass, RegClass::Gpr);
  EXPECT_EQ(in.op[0].reg, 4);
  EXPECT_EQ(in.op[1].rclass, RegClass::Gpr);
  EXPECT_EQ(in.op[1].reg, 8);
  in = decode({0xC5, 0x7C, 0x28, 0xC9});  // vmovaps ymm9, ymm1
  EXPECT_EQ(in.op[0].rclass, RegClass::Xmm);
  EXPECT_EQ(in.op[0].reg, 9);
  EXPECT_EQ(in.op[0].size, 32);
  in = decode({0x8C, 0xE0});  // mov eax, fs
  EXPECT_EQ(in.op[1].rclass, RegClass::Seg);
  EXPECT_EQ(in.op[1].reg, 4);
  in = decode({0x4A, 0x8B, 0x44, 0xB5, 0x08});  // mov rax, [rbp + r14*4 + 8]
  EXPECT_EQ(in.op[1].kind, OpKind::Mem);
  EXPECT_EQ(in.op[1].base, 5);
  EXPECT_EQ(in.op[1].index, 14);
  EXPECT_EQ(in.op[1].scale, 4);
  EXPECT_EQ(in.op[1].disp, 8);
  in = decode({0x8B, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00});  // mov eax, [0x1000]
  EXPECT_EQ(in.op[1].base, kNoReg);
  EXPECT_EQ(in.op[1].index, kNoReg);
}

TEST(CpuDecoder, ConditionCodes) {
  EXPECT_EQ(decode({0x75, 0x00}).cc, 5);              // jnz
  EXPECT_EQ(decode({0x0F, 0x92, 0xC0}).cc, 2);        // setb al
  EXPECT_EQ(decode({0x0F, 0x4E, 0xC1}).cc, 14);       // cmovle eax, ecx
  EXPECT_EQ(decode({0x0F, 0x8F, 0, 0, 0, 0}).cc, 15);  // jnle rel32
  EXPECT_EQ(decode({0x01, 0xC8}).cc, 0xFF);           // add eax, ecx
}

}  // namespace
}  // namespace vireo
