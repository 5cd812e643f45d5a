// Instructions that raise #UD in a Linux process because of a control register Linux leaves
// clear: both engines must give the guest that #UD (SIGILL, as natively), not report an
// unimplemented instruction.
#include <gtest/gtest.h>

#include "native_cases.h"

namespace vireo::test {
namespace {

class SystemUd : public ::testing::TestWithParam<Engine> {};

// GETSEC: #UD while CR4.SMXE = 0 (SDM Vol. 2, GETSEC, "Protected Mode Exceptions"); Linux
// sets SMXE only under tboot. random_code_quick met it as "unimplemented instruction".
TEST_P(SystemUd, GetsecRaisesUdAtItsOwnAddress) {
  const std::vector<uint8_t> code = {0x90, 0x0F, 0x37, 0x0F, 0x05};  // nop; getsec; syscall
  CpuState cpu{};
  reset_user_state(cpu);
  ::testing::internal::CaptureStderr();
  const StopReason r = run_code(GetParam(), code, cpu);
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(r, StopReason::Fault);
  EXPECT_EQ(cpu.fault.vector, VEC_UD);
  EXPECT_EQ(cpu.rip, 0x10001u);
  EXPECT_EQ(err.find("unimplemented"), std::string::npos) << err;
}

// xstore (0F A7 C0, VIA PadLock): an undefined opcode on Intel and AMD CPUs.
TEST_P(SystemUd, PadlockXstoreRaisesUd) {
  const std::vector<uint8_t> code = {0x0F, 0xA7, 0xC0, 0x0F, 0x05};  // xstore; syscall
  CpuState cpu{};
  reset_user_state(cpu);
  ::testing::internal::CaptureStderr();
  const StopReason r = run_code(GetParam(), code, cpu);
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(r, StopReason::Fault);
  EXPECT_EQ(cpu.fault.vector, VEC_UD);
  EXPECT_EQ(cpu.rip, 0x10000u);
  EXPECT_EQ(err.find("unimplemented"), std::string::npos) << err;
}

INSTANTIATE_TEST_SUITE_P(Engines, SystemUd, ::testing::Values(Engine::Interp, Engine::Jit),
                         [](const auto& i) { return i.param == Engine::Jit ? "jit" : "interp"; });

}  // namespace
}  // namespace vireo::test
