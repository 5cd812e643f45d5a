// pfx::MAY_BRANCH (cpu/insn.h, set by Decoder::decode): set for exactly the instructions that
// may complete with rip elsewhere than at the next instruction, which is all the interpreter's
// tier loop looks at to find block heads (interp/interpreter.cpp, loop).
#include <gtest/gtest.h>

#include <Zydis/Zydis.h>

#include <random>
#include <vector>

#include "cpu/decoder.h"

namespace vireo {
namespace {

bool may_branch(const std::vector<uint8_t>& bytes) {
  Insn in{};
  EXPECT_TRUE(Decoder().decode(bytes.data(), bytes.size(), 0x401000, in));
  return in.prefixes & pfx::MAY_BRANCH;
}

TEST(CpuMayBranch, SetForControlTransfersAndRepStringsOnly) {
  const std::vector<std::vector<uint8_t>> branches = {
      {0xEB, 0x00},                          // jmp rel8
      {0xE9, 0, 0, 0, 0},                    // jmp rel32
      {0xFF, 0xE0},                          // jmp rax
      {0xFF, 0x20},                          // jmp [rax]
      {0x48, 0xFF, 0x28},                    // jmp far [rax]
      {0x74, 0x00},                          // jz rel8
      {0x0F, 0x8F, 0, 0, 0, 0},              // jg rel32
      {0xE8, 0, 0, 0, 0},                    // call rel32
      {0xFF, 0xD0},                          // call rax
      {0xFF, 0x18},                          // call far [rax]
      {0xC3},                                // ret
      {0xF3, 0xC3},                          // rep ret
      {0xC2, 0x08, 0x00},                    // ret 8
      {0xCB},                                // retf
      {0xE2, 0xFE},                          // loop
      {0xE1, 0xFE},                          // loope
      {0xE0, 0xFE},                          // loopne
      {0xE3, 0x00},                          // jrcxz
      {0x67, 0xE3, 0x00},                    // jecxz
      {0x0F, 0x05},                          // syscall
      {0x0F, 0x34},                          // sysenter
      {0x0F, 0x07},                          // sysret
      {0xCD, 0x80},                          // int 0x80
      {0xCC},                                // int3
      {0xF1},                                // int1
      {0x48, 0xCF},                          // iretq
      {0xC7, 0xF8, 0, 0, 0, 0},              // xbegin
      {0xF3, 0xA4},                          // rep movsb
      {0xF3, 0x48, 0xAB},                    // rep stosq
      {0xF3, 0xA6},                          // repe cmpsb
      {0xF2, 0xAE},                          // repne scasb
      {0xF3, 0xAC},                          // rep lodsb
      {0xF3, 0x6C},                          // rep insb
  };
  const std::vector<std::vector<uint8_t>> others = {
      {0x90},                                // nop
      {0x48, 0x01, 0xC0},                    // add rax, rax
      {0xA4},                                // movsb
      {0x48, 0xAB},                          // stosq
      {0xAE},                                // scasb
      {0xA6},                                // cmpsb
      {0x6C},                                // insb
      {0x0F, 0x0B},                          // ud2
      {0xF4},                                // hlt
      {0x0F, 0xA2},                          // cpuid
      {0xF3, 0x0F, 0x10, 0xC1},              // movss (F3 as the opcode's)
      {0xF2, 0x0F, 0x10, 0xC1},              // movsd
      {0xF2, 0x0F, 0x38, 0xF1, 0xC1},        // crc32
      {0xF3, 0x90},                          // pause
      {0xF3, 0x48, 0x0F, 0xB8, 0xC1},        // popcnt
      {0xF3, 0x0F, 0x1E, 0xFA},              // endbr64
      {0xF3, 0x48, 0x01, 0xC0},              // add with an F3 that means nothing
      {0x50},                                // push rax
      {0x48, 0x8D, 0x05, 0, 0, 0, 0},        // lea rax, [rip]
      {0x0F, 0x94, 0xC0},                    // setz al
      {0x0F, 0x44, 0xC1},                    // cmovz eax, ecx
  };
  for (const auto& b : branches) EXPECT_TRUE(may_branch(b)) << disassemble(b.data(), b.size(), 0x401000);
  for (const auto& b : others) EXPECT_FALSE(may_branch(b)) << disassemble(b.data(), b.size(), 0x401000);
}

// Random bytes, a fixed seed: every instruction that Zydis says writes RIP (its hidden operands
// included) has the bit, and every one with the bit writes RIP but for rep strings and a few
// that raise here (RTM's xend and xabort, sysret's forms at CPL 3).
TEST(CpuMayBranch, AgreesWithZydisOnWhatWritesRip) {
  Decoder d;
  std::mt19937_64 rng(22);
  unsigned writes = 0, checked = 0;
  for (int i = 0; i < 400000; ++i) {
    uint8_t b[16];
    for (auto& x : b) x = uint8_t(rng());
    // (Half with a 0F escape or a rep prefix first, where most of the rest lie.)
    static constexpr uint8_t kFirst[] = {0x0F, 0xF3, 0xF2};
    if (i % 2) b[0] = kFirst[(i / 2) % 3];
    Insn in{};
    if (!d.decode(b, 15, 0x401000, in)) continue;
    ZydisDecodedInstruction zi;
    ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
    ASSERT_TRUE(d.decode_full(b, 15, zi, zo));
    bool rip = false;
    for (unsigned k = 0; k < zi.operand_count; ++k)
      rip |= zo[k].type == ZYDIS_OPERAND_TYPE_REGISTER && zo[k].reg.value == ZYDIS_REGISTER_RIP &&
             (zo[k].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE);
    const bool bit = in.prefixes & pfx::MAY_BRANCH;
    const bool rep_string = (zi.meta.category == ZYDIS_CATEGORY_STRINGOP || zi.meta.category == ZYDIS_CATEGORY_IOSTRINGOP) &&
                            (in.prefixes & (pfx::REP | pfx::REPNE));
    const bool raises = zi.mnemonic == ZYDIS_MNEMONIC_XEND || zi.mnemonic == ZYDIS_MNEMONIC_XABORT ||
                        zi.mnemonic == ZYDIS_MNEMONIC_SYSRET;
    if (rip) EXPECT_TRUE(bit) << disassemble(b, 15, 0x401000);
    if (bit) EXPECT_TRUE(rip || rep_string || raises) << disassemble(b, 15, 0x401000);
    writes += rip;
    ++checked;
  }
  EXPECT_GT(writes, 1000u);
  EXPECT_GT(checked, 100000u);
}

}  // namespace
}  // namespace vireo
