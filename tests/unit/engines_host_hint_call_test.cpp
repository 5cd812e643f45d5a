// The prefetch group's register form and a call to a non-canonical target on the interpreter
// and the JIT, as the host does them (cpu/host_quirks.h: host_prefetch_reg_is_nop,
// host_call_nc_writes_return_address,
// host_pause_rex_b_is_xchg).
#include <gtest/gtest.h>

#include <cstring>

#include "cpu/host_quirks.h"
#include "native_cases.h"

namespace vireo::test {
namespace {

class HostHintCall : public ::testing::TestWithParam<Engine> {};

TEST_P(HostHintCall, PrefetchGroupRegisterFormIsNopOrUd) {
  // 0f 0d c3 (0F 0D /0, register operand); mov ebx, 1; ud2
  const std::vector<uint8_t> code = {0x0F, 0x0D, 0xC3, 0xBB, 0x01, 0x00, 0x00, 0x00, 0x0F, 0x0B};
  CpuState cpu{};
  reset_user_state(cpu);
  ASSERT_EQ(run_code(GetParam(), code, cpu), StopReason::Fault);
  EXPECT_EQ(cpu.fault.vector, VEC_UD);
  EXPECT_EQ(cpu.rip, host_prefetch_reg_is_nop() ? 0x10008u : 0x10000u);
  EXPECT_EQ(cpu.gpr[RBX], host_prefetch_reg_is_nop() ? 1u : 0u);
}

TEST_P(HostHintCall, CallToNonCanonicalTargetWritesTheReturnAddressAsTheHost) {
  // mov rax, 0x8000000000001000; mov esp, 0x20100; call rax (the slot below rsp holds 0x77)
  const std::vector<uint8_t> code = {
      0x48, 0xB8, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80,  // mov rax, imm64
      0xBC, 0x00, 0x01, 0x02, 0x00,                                // mov esp, 0x20100
      0xFF, 0xD0};                                                 // call rax
  std::vector<uint8_t> data(0x200, 0);
  data[0xF8] = 0x77;
  CpuState cpu{};
  reset_user_state(cpu);
  ASSERT_EQ(run_code(GetParam(), code, cpu, &data), StopReason::Fault);
  EXPECT_EQ(cpu.fault.vector, VEC_GP);
  EXPECT_EQ(cpu.rip, 0x1000Fu);
  EXPECT_EQ(cpu.gpr[RSP], 0x20100u);
  uint64_t slot;
  std::memcpy(&slot, &data[0xF8], 8);
  EXPECT_EQ(slot, host_call_nc_writes_return_address() ? 0x10011u : 0x77u);
}

TEST_P(HostHintCall, PauseWithRexBIsXchgOrPause) {
  // mov eax, 1; mov r8d, 2; f3 49 90; ud2
  const std::vector<uint8_t> code = {0xB8, 0x01, 0x00, 0x00, 0x00, 0x41, 0xB8, 0x02, 0x00,
                                     0x00, 0x00, 0xF3, 0x49, 0x90, 0x0F, 0x0B};
  CpuState cpu{};
  reset_user_state(cpu);
  ASSERT_EQ(run_code(GetParam(), code, cpu), StopReason::Fault);
  EXPECT_EQ(cpu.fault.vector, VEC_UD);
  EXPECT_EQ(cpu.rip, 0x1000Eu);
  EXPECT_EQ(cpu.gpr[RAX], host_pause_rex_b_is_xchg() ? 2u : 1u);
  EXPECT_EQ(cpu.gpr[8], host_pause_rex_b_is_xchg() ? 1u : 2u);
}

INSTANTIATE_TEST_SUITE_P(Engines, HostHintCall, ::testing::Values(Engine::Interp, Engine::Jit),
                         [](const auto& i) { return i.param == Engine::Jit ? "jit" : "interp"; });

}  // namespace
}  // namespace vireo::test
