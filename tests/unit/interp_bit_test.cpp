// Bit family: bt*/bsf/bsr/popcnt/lzcnt/tzcnt and BMI1, compared with the host executing the
// same instruction natively (the host has ABM and BMI1; a test is skipped where it lacks them).
#include <cpuid.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "cpu/cpuid.h"
#include "interp_harness.h"
#include "native_cases.h"

namespace vireo::test {
namespace {

bool host_has_bmi1_abm() {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & (1u << 3))) return false;
  if (!__get_cpuid(0x80000001, &a, &b, &c, &d) || !(c & (1u << 5))) return false;
  return true;
}

TEST(InterpBit, BitTestRegisterFormsMatchNative) {
  const uint64_t bt_flags = flag::CF | flag::ZF;  // CF = bit; ZF unaffected
  run_cases({
      {"bt64", {0x48, 0x0F, 0xA3, 0xD8}, NATIVE("btq %%rbx, %%rax"), bt_flags},
      {"bt32", {0x0F, 0xA3, 0xD8}, NATIVE("btl %%ebx, %%eax"), bt_flags},
      {"bt16", {0x66, 0x0F, 0xA3, 0xD8}, NATIVE("btw %%bx, %%ax"), bt_flags},
      {"bts64", {0x48, 0x0F, 0xAB, 0xD8}, NATIVE("btsq %%rbx, %%rax"), bt_flags},
      {"bts32", {0x0F, 0xAB, 0xD8}, NATIVE("btsl %%ebx, %%eax"), bt_flags},
      {"btr64", {0x48, 0x0F, 0xB3, 0xD8}, NATIVE("btrq %%rbx, %%rax"), bt_flags},
      {"btr16", {0x66, 0x0F, 0xB3, 0xD8}, NATIVE("btrw %%bx, %%ax"), bt_flags},
      {"btc64", {0x48, 0x0F, 0xBB, 0xD8}, NATIVE("btcq %%rbx, %%rax"), bt_flags},
      {"btc32", {0x0F, 0xBB, 0xD8}, NATIVE("btcl %%ebx, %%eax"), bt_flags},
      {"bt64i", {0x48, 0x0F, 0xBA, 0xE0, 0x47}, NATIVE("btq $0x47, %%rax"), bt_flags},
      {"bts32i", {0x0F, 0xBA, 0xE8, 0x1F}, NATIVE("btsl $0x1F, %%eax"), bt_flags},
      {"btr16i", {0x66, 0x0F, 0xBA, 0xF0, 0x13}, NATIVE("btrw $0x13, %%ax"), bt_flags},
      {"btc64i", {0x48, 0x0F, 0xBA, 0xF8, 0x3F}, NATIVE("btcq $0x3F, %%rax"), bt_flags},
  });
}

TEST(InterpBit, ScanAndCountMatchNative) {
  if (!host_has_bmi1_abm()) GTEST_SKIP() << "host lacks ABM/BMI1";
  const uint64_t cz = flag::CF | flag::ZF;
  run_cases({
      {"bsf64", {0x48, 0x0F, 0xBC, 0xC3}, NATIVE("bsfq %%rbx, %%rax"), flag::ZF},
      {"bsf32", {0x0F, 0xBC, 0xC3}, NATIVE("bsfl %%ebx, %%eax"), flag::ZF},
      {"bsf16", {0x66, 0x0F, 0xBC, 0xC3}, NATIVE("bsfw %%bx, %%ax"), flag::ZF},
      {"bsr64", {0x48, 0x0F, 0xBD, 0xC3}, NATIVE("bsrq %%rbx, %%rax"), flag::ZF},
      {"bsr32", {0x0F, 0xBD, 0xC3}, NATIVE("bsrl %%ebx, %%eax"), flag::ZF},
      {"bsr16", {0x66, 0x0F, 0xBD, 0xC3}, NATIVE("bsrw %%bx, %%ax"), flag::ZF},
      {"popcnt64", {0xF3, 0x48, 0x0F, 0xB8, 0xC3}, NATIVE("popcntq %%rbx, %%rax"), kArithFlags},
      {"popcnt32", {0xF3, 0x0F, 0xB8, 0xC3}, NATIVE("popcntl %%ebx, %%eax"), kArithFlags},
      {"popcnt16", {0x66, 0xF3, 0x0F, 0xB8, 0xC3}, NATIVE("popcntw %%bx, %%ax"), kArithFlags},
      {"lzcnt64", {0xF3, 0x48, 0x0F, 0xBD, 0xC3}, NATIVE("lzcntq %%rbx, %%rax"), cz},
      {"lzcnt32", {0xF3, 0x0F, 0xBD, 0xC3}, NATIVE("lzcntl %%ebx, %%eax"), cz},
      {"lzcnt16", {0x66, 0xF3, 0x0F, 0xBD, 0xC3}, NATIVE("lzcntw %%bx, %%ax"), cz},
      {"tzcnt64", {0xF3, 0x48, 0x0F, 0xBC, 0xC3}, NATIVE("tzcntq %%rbx, %%rax"), cz},
      {"tzcnt32", {0xF3, 0x0F, 0xBC, 0xC3}, NATIVE("tzcntl %%ebx, %%eax"), cz},
      {"tzcnt16", {0x66, 0xF3, 0x0F, 0xBC, 0xC3}, NATIVE("tzcntw %%bx, %%ax"), cz},
  });
}

TEST(InterpBit, Bmi1MatchesNative) {
  if (!host_has_bmi1_abm()) GTEST_SKIP() << "host lacks ABM/BMI1";
  const uint64_t szco = flag::SF | flag::ZF | flag::CF | flag::OF;
  run_cases({
      {"andn64", {0xC4, 0xE2, 0xE0, 0xF2, 0xC1}, NATIVE("andnq %%rcx, %%rbx, %%rax"), szco},
      {"andn32", {0xC4, 0xE2, 0x60, 0xF2, 0xC1}, NATIVE("andnl %%ecx, %%ebx, %%eax"), szco},
      {"bextr64", {0xC4, 0xE2, 0xF0, 0xF7, 0xC3}, NATIVE("bextrq %%rcx, %%rbx, %%rax"),
       flag::ZF | flag::CF | flag::OF},
      {"bextr32", {0xC4, 0xE2, 0x70, 0xF7, 0xC3}, NATIVE("bextrl %%ecx, %%ebx, %%eax"),
       flag::ZF | flag::CF | flag::OF},
      {"blsi64", {0xC4, 0xE2, 0xF8, 0xF3, 0xDB}, NATIVE("blsiq %%rbx, %%rax"), szco},
      {"blsi32", {0xC4, 0xE2, 0x78, 0xF3, 0xDB}, NATIVE("blsil %%ebx, %%eax"), szco},
      {"blsmsk64", {0xC4, 0xE2, 0xF8, 0xF3, 0xD3}, NATIVE("blsmskq %%rbx, %%rax"), szco},
      {"blsmsk32", {0xC4, 0xE2, 0x78, 0xF3, 0xD3}, NATIVE("blsmskl %%ebx, %%eax"), szco},
      {"blsr64", {0xC4, 0xE2, 0xF8, 0xF3, 0xCB}, NATIVE("blsrq %%rbx, %%rax"), szco},
      {"blsr32", {0xC4, 0xE2, 0x78, 0xF3, 0xCB}, NATIVE("blsrl %%ebx, %%eax"), szco},
  });
}

// bt* with a memory operand and a register offset address the bit string relative to the
// operand, with a signed offset (SDM Vol. 2, BT): compare the touched memory with the host.
TEST(InterpBit, MemoryBitStringMatchesNative) {
  InterpHarness h;
  std::mt19937_64 rng(9);
  constexpr size_t kLen = 1024, kMid = 512;
  alignas(16) uint8_t host[kLen];
  struct MemCase {
    const char* name;
    uint8_t op, size;
  } cases[] = {{"bt", 0xA3, 8}, {"bts", 0xAB, 8}, {"btr", 0xB3, 4}, {"btc", 0xBB, 2},
               {"bts", 0xAB, 4}, {"btc", 0xBB, 8}, {"btr", 0xB3, 2}};
  for (const MemCase& c : cases) {
    for (int i = 0; i < 200; ++i) {
      for (size_t k = 0; k < kLen; ++k) host[k] = uint8_t(rng());
      std::memcpy(h.data(), host, kLen);
      // Offsets up to +-2047 bits around the middle, i.e. +-256 bytes.
      int64_t off = int64_t(rng() % 4095) - 2047;
      uint8_t* p = host + kMid;
      uint64_t fl = 0;
#define MEMBT(insn, reg)                                                             \
  asm volatile(insn " %" reg "[o], (%[p])\n\tpushfq\n\tpopq %[f]"                     \
               : [f] "=r"(fl)                                                         \
               : [o] "r"(off), [p] "r"(p)                                             \
               : "cc", "memory")
      switch (c.op * 16 + c.size) {
        case 0xA3 * 16 + 8: MEMBT("btq", "q"); break;
        case 0xAB * 16 + 8: MEMBT("btsq", "q"); break;
        case 0xAB * 16 + 4: MEMBT("btsl", "k"); break;
        case 0xB3 * 16 + 4: MEMBT("btrl", "k"); break;
        case 0xB3 * 16 + 2: MEMBT("btrw", "w"); break;
        case 0xBB * 16 + 2: MEMBT("btcw", "w"); break;
        case 0xBB * 16 + 8: MEMBT("btcq", "q"); break;
      }
#undef MEMBT
      std::vector<uint8_t> code;
      if (c.size == 2) code.push_back(0x66);
      if (c.size == 8) code.push_back(0x48);
      code.insert(code.end(), {0x0F, c.op, 0x1A});  // <op> [rdx], rbx
      h.cpu.gpr[RDX] = InterpHarness::kData + kMid;
      h.cpu.gpr[RBX] = uint64_t(off);
      h.cpu.rflags = flag::FIXED1;
      ASSERT_EQ(h.run(code), StopReason::None);
      EXPECT_EQ(h.cpu.rflags & flag::CF, fl & flag::CF) << c.name << " off=" << off;
      EXPECT_EQ(std::memcmp(h.data(), host, kLen), 0) << c.name << " off=" << off;
    }
  }
}

TEST(InterpBit, MemoryBitStringFaultsOnTheAddressedUnit) {
  InterpHarness h;
  // bt [rdx], rbx with rdx at the start of the data page and a negative offset reaches the
  // unmapped page below it: #PF at kData - 8.
  h.cpu.gpr[RDX] = InterpHarness::kData;
  h.cpu.gpr[RBX] = uint64_t(-1);
  ASSERT_EQ(h.run({0x48, 0x0F, 0xA3, 0x1A}), StopReason::Fault);
  EXPECT_EQ(h.cpu.fault.vector, VEC_PF);
  EXPECT_EQ(h.cpu.fault.address, InterpHarness::kData - 8);
}

TEST(InterpBit, ZeroSourceLeavesBsfDestination) {
  InterpHarness h;
  h.cpu.gpr[RAX] = 0xFFFFFFFF12345678;
  h.cpu.gpr[RBX] = 0;
  ASSERT_EQ(h.run({0x0F, 0xBC, 0xC3}), StopReason::None);  // bsf eax, ebx
  EXPECT_EQ(h.cpu.gpr[RAX], 0xFFFFFFFF12345678u);
  EXPECT_TRUE(h.cpu.rflags & flag::ZF);
}

TEST(InterpBit, CpuidAdvertisesWhatIsImplemented) {
  CpuidResult l1 = cpuid(1, 0), l7 = cpuid(7, 0), e1 = cpuid(0x80000001, 0);
  EXPECT_TRUE(l1.ecx & cpuid_bits::POPCNT);
  EXPECT_TRUE(e1.ecx & cpuid_bits::ABM_LZCNT);
  EXPECT_TRUE(l7.ebx & (1u << 3));  // BMI1
  EXPECT_TRUE(l7.ebx & (1u << 8));   // BMI2 (bmi2.cpp)
  EXPECT_TRUE(l7.ebx & (1u << 5));   // AVX2 (avx_*.cpp)
}

}  // namespace
}  // namespace vireo::test
