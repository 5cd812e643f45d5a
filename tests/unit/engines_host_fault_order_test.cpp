// maskmovdqu's and iretq's faults on the interpreter and the JIT, in the host's order
// (cpu/host_quirks.h: host_maskmovdqu_checks_high_half_first, host_iret_checks_cs_first).
#include <gtest/gtest.h>

#include "cpu/host_quirks.h"
#include "native_cases.h"

namespace vireo::test {
namespace {

class HostFaultOrder : public ::testing::TestWithParam<Engine> {};

TEST_P(HostFaultOrder, MaskmovdquNamesTheHalfTheHostChecksFirst) {
  // mov edi, 0x30000 (unmapped); pxor xmm0, xmm0; maskmovdqu xmm0, xmm0 (no byte selected)
  const std::vector<uint8_t> code = {0xBF, 0x00, 0x00, 0x03, 0x00, 0x66, 0x0F, 0xEF,
                                     0xC0, 0x66, 0x0F, 0xF7, 0xC0};
  CpuState cpu{};
  reset_user_state(cpu);
  ASSERT_EQ(run_code(GetParam(), code, cpu), StopReason::Fault);
  EXPECT_EQ(cpu.rip, 0x10009u);
  EXPECT_EQ(cpu.fault.vector, VEC_PF);
  EXPECT_EQ(cpu.fault.address, host_maskmovdqu_checks_high_half_first() ? 0x30008u : 0x30000u);
}

TEST_P(HostFaultOrder, IretqNullCsUnderAnUnmappedSsSlot) {
  // mov esp, 0x2FFE8; iretq: RIP, CS (null) and RFLAGS mapped, RSP and SS at 0x30000 (unmapped)
  const std::vector<uint8_t> code = {0xBC, 0xE8, 0xFF, 0x02, 0x00, 0x48, 0xCF};
  CpuState cpu{};
  reset_user_state(cpu);
  ASSERT_EQ(run_code(GetParam(), code, cpu), StopReason::Fault);
  EXPECT_EQ(cpu.rip, 0x10005u);
  if (host_iret_checks_cs_first()) {
    EXPECT_EQ(cpu.fault.vector, VEC_GP);
    EXPECT_EQ(cpu.fault.error_code, 0u);
  } else {
    EXPECT_EQ(cpu.fault.vector, VEC_PF);
    EXPECT_EQ(cpu.fault.address, 0x30008u);  // (SS's slot before RSP's)
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, HostFaultOrder, ::testing::Values(Engine::Interp, Engine::Jit),
                         [](const auto& i) { return i.param == Engine::Jit ? "jit" : "interp"; });

}  // namespace
}  // namespace vireo::test
