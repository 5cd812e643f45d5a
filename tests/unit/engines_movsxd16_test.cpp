// movsxd r16, m32 on the interpreter and the JIT: as many bytes read as the host reads
// (cpu/host_quirks.h, host_movsxd16_reads_two_bytes), which decides whether an operand whose
// upper half is unmapped faults.
#include <gtest/gtest.h>

#include "cpu/host_quirks.h"
#include "native_cases.h"

namespace vireo::test {
namespace {

class Movsxd16 : public ::testing::TestWithParam<Engine> {};

// run_code's data ends at 0x30000, unmapped above: the operand's upper two bytes are there.
TEST_P(Movsxd16, ReadsAsManyBytesAsTheHost) {
  const std::vector<uint8_t> code = {0x66, 0x63, 0x17, 0x0F, 0x05};  // movsxd dx, [rdi]; syscall
  CpuState cpu{};
  reset_user_state(cpu);
  cpu.gpr[RDX] = ~0ull;
  cpu.gpr[RDI] = 0x2FFFE;
  const StopReason r = run_code(GetParam(), code, cpu);
  if (host_movsxd16_reads_two_bytes()) {
    ASSERT_EQ(r, StopReason::Syscall);
    EXPECT_EQ(cpu.gpr[RDX], 0xFFFFFFFFFFFF0000ull);  // (the data's end holds zeros)
  } else {
    ASSERT_EQ(r, StopReason::Fault);
    EXPECT_EQ(cpu.fault.vector, VEC_PF);
    EXPECT_EQ(cpu.fault.address, 0x30000u);
    EXPECT_EQ(cpu.rip, 0x10000u);
    EXPECT_EQ(cpu.gpr[RDX], ~0ull);
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, Movsxd16, ::testing::Values(Engine::Interp, Engine::Jit),
                         [](const auto& i) { return i.param == Engine::Jit ? "jit" : "interp"; });

}  // namespace
}  // namespace vireo::test
