// A far return to another privilege level (CS RPL != 3) on the interpreter and the JIT: the
// SS:RSP slots read before the CS check, or not, as the host does (cpu/host_quirks.h,
// host_far_ret_checks_cs_first).
#include <gtest/gtest.h>

#include "cpu/host_quirks.h"
#include "native_cases.h"

namespace vireo::test {
namespace {

class FarRetOrder : public ::testing::TestWithParam<Engine> {};

TEST_P(FarRetOrder, SsSlotsOrCsCheckFirstAsTheHost) {
  // sub rsp, 0x100; lretq 0xFFF0: RIP and CS at 0x27F00, the SS:RSP slots at 0x37F00 (unmapped)
  const std::vector<uint8_t> code = {0x48, 0x81, 0xEC, 0x00, 0x01, 0x00, 0x00, 0x48, 0xCA, 0xF0, 0xFF};
  std::vector<uint8_t> data(0x8000);
  data[0x7F08] = 0x10;  // CS 0x10: RPL 0
  CpuState cpu{};
  reset_user_state(cpu);
  ASSERT_EQ(run_code(GetParam(), code, cpu, &data), StopReason::Fault);
  EXPECT_EQ(cpu.rip, 0x10007u);
  if (host_far_ret_checks_cs_first()) {
    EXPECT_EQ(cpu.fault.vector, VEC_GP);
    EXPECT_EQ(cpu.fault.error_code, 0x10u);
  } else {
    EXPECT_EQ(cpu.fault.vector, VEC_PF);
    EXPECT_EQ(cpu.fault.address, 0x37F08u);  // (SS's slot first)
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, FarRetOrder, ::testing::Values(Engine::Interp, Engine::Jit),
                         [](const auto& i) { return i.param == Engine::Jit ? "jit" : "interp"; });

}  // namespace
}  // namespace vireo::test
