// ALU family: results and flags compared with the host CPU executing the same instruction.
#include <gtest/gtest.h>

#include <random>

#include "interp_harness.h"

namespace vireo::test {
namespace {

struct NativeResult {
  uint64_t value, flags;
};

// Natively executes `op rax, rbx` (64-bit) with CF preset, returns rax and the arithmetic flags.
#define NATIVE_BINOP64(mnemonic)                                                   \
  [](uint64_t a, uint64_t b, bool cf) {                                            \
    uint64_t fl;                                                                   \
    asm volatile("bt $0, %q[c]\n\t" mnemonic " %[b], %[a]\n\tpushfq\n\tpopq %[f]" \
                 : [a] "+r"(a), [f] "=r"(fl)                                       \
                 : [b] "r"(b), [c] "r"(uint64_t(cf))                               \
                 : "cc");                                                          \
    return NativeResult{a, fl & kArithFlags};                                      \
  }

struct Case {
  const char* name;
  uint8_t opcode;  // REX.W <opcode> /r with modrm D8 (rbx -> rax): "op rax, rbx"
  NativeResult (*native)(uint64_t, uint64_t, bool);
};

TEST(InterpAlu, BinaryOpsMatchNative) {
  const Case cases[] = {
      {"add", 0x01, NATIVE_BINOP64("addq")}, {"adc", 0x11, NATIVE_BINOP64("adcq")},
      {"sub", 0x29, NATIVE_BINOP64("subq")}, {"sbb", 0x19, NATIVE_BINOP64("sbbq")},
      {"and", 0x21, NATIVE_BINOP64("andq")}, {"or", 0x09, NATIVE_BINOP64("orq")},
      {"xor", 0x31, NATIVE_BINOP64("xorq")},
  };
  const uint64_t edges[] = {0, 1, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, ~0ull, 0xF, 0x10,
                            0xFFFFFFFF, 0x100000000};
  std::mt19937_64 rng(1);
  InterpHarness h;
  for (const Case& c : cases) {
    for (int i = 0; i < 200; ++i) {
      uint64_t a = i < 81 ? edges[i % 9] : rng();
      uint64_t b = i < 81 ? edges[i / 9] : rng();
      bool cf = i & 1;
      NativeResult n = c.native(a, b, cf);
      h.cpu.gpr[RAX] = a;
      h.cpu.gpr[RBX] = b;
      h.cpu.rflags = flag::FIXED1 | (cf ? flag::CF : 0);
      ASSERT_EQ(h.run({0x48, c.opcode, 0xD8}), StopReason::None);
      EXPECT_EQ(h.cpu.gpr[RAX], n.value) << c.name << " " << a << " " << b;
      // AF after logic ops is undefined (SDM); the host clears it, and so do we.
      EXPECT_EQ(h.cpu.rflags & kArithFlags, n.flags) << c.name << " " << a << " " << b;
    }
  }
}

TEST(InterpAlu, IncDecKeepCarry) {
  InterpHarness h;
  h.cpu.gpr[RAX] = 0xFF;
  h.cpu.rflags = flag::FIXED1 | flag::CF;
  ASSERT_EQ(h.run({0xFE, 0xC0}), StopReason::None);  // inc al
  EXPECT_EQ(h.cpu.gpr[RAX], 0u);
  EXPECT_TRUE(h.cpu.rflags & flag::CF);
  EXPECT_TRUE(h.cpu.rflags & flag::ZF);
  EXPECT_TRUE(h.cpu.rflags & flag::AF);
}

TEST(InterpAlu, ThirtyTwoBitWriteZeroExtends) {
  InterpHarness h;
  h.cpu.gpr[RAX] = ~0ull;
  ASSERT_EQ(h.run({0x83, 0xC0, 0x01}), StopReason::None);  // add eax, 1
  EXPECT_EQ(h.cpu.gpr[RAX], 0u);
}

TEST(InterpAlu, HighByteRegisters) {
  InterpHarness h;
  h.cpu.gpr[RAX] = 0x1234;
  ASSERT_EQ(h.run({0x00, 0xE0}), StopReason::None);  // add al, ah
  EXPECT_EQ(h.cpu.gpr[RAX], 0x1246u);
}

TEST(InterpAlu, MemoryFaultIsPreciseAndLeavesRegisters) {
  InterpHarness h;
  h.cpu.gpr[RAX] = 5;
  h.cpu.gpr[RBX] = 0x1000;  // unmapped
  ASSERT_EQ(h.run({0x48, 0x01, 0x03}), StopReason::Fault);  // add [rbx], rax
  EXPECT_EQ(h.cpu.rip, InterpHarness::kCode);
  EXPECT_EQ(h.cpu.fault.vector, VEC_PF);
  EXPECT_EQ(h.cpu.fault.address, 0x1000u);
  EXPECT_EQ(h.cpu.gpr[RAX], 5u);
}

TEST(InterpAlu, UnmappedCodeAndUndefinedOpcode) {
  InterpHarness h;
  EXPECT_EQ(h.run({0x0F, 0x0B}), StopReason::Fault);  // ud2
  EXPECT_EQ(h.cpu.fault.vector, VEC_UD);
}

}  // namespace
}  // namespace vireo::test

namespace vireo::test {
namespace {

// Accumulator forms whose register operand Zydis reports as implicit-but-visible.
TEST(InterpAlu, AccumulatorImmediateForms) {
  InterpHarness h;
  h.cpu.gpr[RAX] = 7;
  ASSERT_EQ(h.run({0x3D, 0x07, 0x00, 0x00, 0x00}), StopReason::None);  // cmp eax, 7
  EXPECT_TRUE(h.cpu.rflags & flag::ZF);
  ASSERT_EQ(h.run({0x48, 0x25, 0x03, 0x00, 0x00, 0x00}), StopReason::None);  // and rax, 3
  EXPECT_EQ(h.cpu.gpr[RAX], 3u);
  h.cpu.gpr[RCX] = 9;
  ASSERT_EQ(h.run({0x48, 0x91}), StopReason::None);  // xchg rax, rcx
  EXPECT_EQ(h.cpu.gpr[RAX], 9u);
  EXPECT_EQ(h.cpu.gpr[RCX], 3u);
}

}  // namespace
}  // namespace vireo::test
