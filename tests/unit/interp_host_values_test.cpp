// rdrand/rdseed/rdpid (values only the host gives) and FSGSBASE, on the interpreter and the
// JIT: what the SDM and Linux pin down about them (flags, widths, canonical checks, the base
// reaching FS/GS-relative accesses), since their values cannot be compared with a native run.
#include <cpuid.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "cpu/cpuid.h"
#include "native_cases.h"

namespace vireo::test {
namespace {

class HostValues : public ::testing::TestWithParam<Engine> {};

bool host_has(unsigned leaf, unsigned reg, uint32_t bit) {
  unsigned r[4] = {};
  if (!__get_cpuid_count(leaf, 0, &r[0], &r[1], &r[2], &r[3])) return false;
  return r[reg] & bit;
}

TEST_P(HostValues, RdrandAndRdseedSetCarryAndClearTheOtherFlags) {
  if (!host_has(1, 2, 1u << 30) || !host_has(7, 1, 1u << 18)) GTEST_SKIP() << "host lacks RDRAND/RDSEED";
  const std::vector<uint8_t> code = {
      0x48, 0x0F, 0xC7, 0xF0,        // rdrand rax
      0x0F, 0xC7, 0xF7,              // rdrand edi
      0x66, 0x41, 0x0F, 0xC7, 0xF0,  // rdrand r8w
      0x9C, 0x5B,                    // pushfq; pop rbx
      0x48, 0x0F, 0xC7, 0xFA,        // 1: rdseed rdx
      0x73, 0xFA,                    // jnc 1b (what guests do: retry until a value comes)
      0x9C, 0x5E,                    // pushfq; pop rsi
      0x0F, 0x05};                   // syscall
  CpuState cpu{};
  reset_user_state(cpu);
  cpu.rflags = flag::FIXED1 | flag::ARITH;
  cpu.gpr[RDI] = cpu.gpr[R8] = ~0ull;
  ASSERT_EQ(run_code(GetParam(), code, cpu), StopReason::Syscall);
  EXPECT_EQ(cpu.gpr[RBX] & flag::ARITH, flag::CF);  // a value was available; OF..PF cleared
  EXPECT_EQ(cpu.gpr[RSI] & flag::ARITH, flag::CF);
  EXPECT_EQ(cpu.gpr[RDI] >> 32, 0u);                // 32-bit destination: zero-extended
  EXPECT_EQ(cpu.gpr[R8] >> 16, 0xFFFFFFFFFFFFull);  // 16-bit destination: merged
  EXPECT_NE(cpu.gpr[RAX], uint64_t(cpu.gpr[RDI]));  // two draws (equal with chance 2^-32)
}

TEST_P(HostValues, RdpidReadsLinuxsCpuAndNodeWord) {
  if (!(cpuid(7, 0).ecx & cpuid_bits::RDPID)) GTEST_SKIP() << "RDPID not advertised";
  const std::vector<uint8_t> code = {0xF3, 0x0F, 0xC7, 0xFF, 0x0F, 0x05};  // rdpid rdi; syscall
  CpuState cpu{};
  reset_user_state(cpu);
  cpu.gpr[RDI] = ~0ull;
  ASSERT_EQ(run_code(GetParam(), code, cpu), StopReason::Syscall);
  // syscall leaves rcx and r11 its own values: results live in other registers.
  // (node << 12) | cpu, as Linux writes IA32_TSC_AUX (arch/x86/kernel/cpu/common.c).
  EXPECT_EQ(cpu.gpr[RDI] >> 32, 0u);
  EXPECT_LT(cpu.gpr[RDI] & 0xFFF, uint64_t(sysconf(_SC_NPROCESSORS_CONF)));
}

TEST_P(HostValues, FsGsBaseWritesReachSegmentAccesses) {
  const std::vector<uint8_t> code = {
      0xF3, 0x48, 0x0F, 0xAE, 0xD8,                    // wrgsbase rax
      0xF3, 0x48, 0x0F, 0xAE, 0xCB,                    // rdgsbase rbx
      0x65, 0x48, 0x8B, 0x3C, 0x25, 0x10, 0, 0, 0,     // mov rdi, gs:[0x10]
      0xF3, 0x0F, 0xAE, 0xD2,                          // wrfsbase edx
      0xF3, 0x0F, 0xAE, 0xC6,                          // rdfsbase esi
      0x0F, 0x05};                                     // syscall
  CpuState cpu{};
  reset_user_state(cpu);
  cpu.gpr[RAX] = 0x20000 - 0x10 + 8;  // gs:[0x10] = data byte 8
  cpu.gpr[RDX] = 0xFFFFFFFF00001234;  // the 32-bit form writes 0x1234
  cpu.gpr[RSI] = ~0ull;
  ASSERT_EQ(run_code(GetParam(), code, cpu), StopReason::Syscall);
  EXPECT_EQ(cpu.gpr[RBX], 0x20000u - 0x10 + 8);
  uint64_t expect = 0;
  for (int i = 7; i >= 0; --i) expect = (expect << 8) | uint8_t((8 + i) * 7);
  EXPECT_EQ(cpu.gpr[RDI], expect);
  EXPECT_EQ(gs_base(cpu), 0x20000u - 0x10 + 8);
  EXPECT_EQ(fs_base(cpu), 0x1234u);
  EXPECT_EQ(cpu.gpr[RSI], 0x1234u);  // the 32-bit read zero-extends
}

TEST_P(HostValues, NonCanonicalBaseIsGeneralProtection) {
  const std::vector<uint8_t> code = {0xF3, 0x48, 0x0F, 0xAE, 0xD7, 0x0F, 0x05};  // wrfsbase rdi
  CpuState cpu{};
  reset_user_state(cpu);
  cpu.gpr[RDI] = 0x0000800000000000;
  fs_base(cpu) = 0x5000;
  ASSERT_EQ(run_code(GetParam(), code, cpu), StopReason::Fault);
  EXPECT_EQ(cpu.fault.vector, VEC_GP);
  EXPECT_EQ(cpu.rip, 0x10000u);
  EXPECT_EQ(fs_base(cpu), 0x5000u);
}

TEST(HostValuesCpuid, Advertised) {
  CpuidResult l1 = cpuid(1, 0), l7 = cpuid(7, 0);
  EXPECT_TRUE(l1.ecx & cpuid_bits::RDRAND);
  EXPECT_TRUE(l7.ebx & cpuid_bits::RDSEED);
  EXPECT_TRUE(l7.ebx & cpuid_bits::FSGSBASE);
  EXPECT_TRUE(l7.ebx & cpuid_bits::ADX);
  EXPECT_TRUE(l7.ecx & cpuid_bits::RDPID);
}

INSTANTIATE_TEST_SUITE_P(Engines, HostValues, ::testing::Values(Engine::Interp, Engine::Jit),
                         [](const auto& i) { return i.param == Engine::Jit ? "jit" : "interp"; });

}  // namespace
}  // namespace vireo::test
