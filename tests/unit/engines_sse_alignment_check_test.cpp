// The explicitly unaligned 16-byte SSE moves under EFLAGS.AC on the interpreter and the JIT
// (which runs AC code one instruction at a time in the interpreter): #AC for a misaligned
// operand exactly where the host raises it (cpu/host_quirks.h,
// host_unaligned_sse_moves_skip_ac); an 8-byte SSE load raises it on every host.
#include <gtest/gtest.h>

#include "cpu/host_quirks.h"
#include "native_cases.h"

namespace vireo::test {
namespace {

class SseAlignmentCheck : public ::testing::TestWithParam<Engine> {};

StopReason run_with_ac(Engine e, const std::vector<uint8_t>& code, CpuState& cpu) {
  reset_user_state(cpu);
  cpu.rflags |= flag::AC;
  cpu.gpr[RDI] = 0x20001;  // (run_code's data, misaligned by one)
  return run_code(e, code, cpu);
}

TEST_P(SseAlignmentCheck, UnalignedMovesFollowTheHost) {
  const std::vector<std::vector<uint8_t>> moves = {
      {0xF3, 0x0F, 0x6F, 0x07, 0x0F, 0x05},  // movdqu xmm0, [rdi]; syscall
      {0x66, 0x0F, 0x10, 0x07, 0x0F, 0x05},  // movupd xmm0, [rdi]; syscall
      {0x0F, 0x11, 0x07, 0x0F, 0x05},        // movups [rdi], xmm0; syscall
      {0xF2, 0x0F, 0xF0, 0x07, 0x0F, 0x05},  // lddqu xmm0, [rdi]; syscall
  };
  for (const auto& code : moves) {
    CpuState cpu{};
    const StopReason r = run_with_ac(GetParam(), code, cpu);
    if (host_unaligned_sse_moves_skip_ac()) {
      EXPECT_EQ(r, StopReason::Syscall);
    } else {
      ASSERT_EQ(r, StopReason::Fault);
      EXPECT_EQ(cpu.fault.vector, VEC_AC);
      EXPECT_EQ(cpu.rip, 0x10000u);
    }
  }
}

TEST_P(SseAlignmentCheck, EightByteLoadAlwaysChecks) {
  const std::vector<uint8_t> code = {0xF3, 0x0F, 0x7E, 0x07, 0x0F, 0x05};  // movq xmm0, [rdi]
  CpuState cpu{};
  ASSERT_EQ(run_with_ac(GetParam(), code, cpu), StopReason::Fault);
  EXPECT_EQ(cpu.fault.vector, VEC_AC);
  EXPECT_EQ(cpu.rip, 0x10000u);
}

INSTANTIATE_TEST_SUITE_P(Engines, SseAlignmentCheck, ::testing::Values(Engine::Interp, Engine::Jit),
                         [](const auto& i) { return i.param == Engine::Jit ? "jit" : "interp"; });

}  // namespace
}  // namespace vireo::test
