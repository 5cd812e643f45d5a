// The flags a fault part way through a rep cmps/scas leaves, on the interpreter and the JIT:
// what this host does (cpu/host_quirks.h, host_rep_compare_fault_keeps_flags), since the SDM
// does not say and hosts differ.
#include <gtest/gtest.h>

#include "cpu/host_quirks.h"
#include "native_cases.h"

namespace vireo::test {
namespace {

class RepCompareFault : public ::testing::TestWithParam<Engine> {};

// run_code's data ends at 0x30000, unmapped above: two comparisons of al = 0x22 with zero
// bytes, then the third read faults.
TEST_P(RepCompareFault, FlagsAtAFaultAreTheHostsChoice) {
  const std::vector<uint8_t> code = {0xF2, 0xAE, 0x0F, 0x05};  // repne scasb; syscall
  CpuState cpu{};
  reset_user_state(cpu);
  cpu.rflags = flag::FIXED1 | flag::CF;
  cpu.gpr[RAX] = 0x22;
  cpu.gpr[RDI] = 0x2FFFE;
  cpu.gpr[RCX] = 100;
  ASSERT_EQ(run_code(GetParam(), code, cpu), StopReason::Fault);
  EXPECT_EQ(cpu.fault.vector, VEC_PF);
  EXPECT_EQ(cpu.fault.address, 0x30000u);
  EXPECT_EQ(cpu.rip, 0x10000u);  // restartable: the registers say how far it got
  EXPECT_EQ(cpu.gpr[RDI], 0x30000u);
  EXPECT_EQ(cpu.gpr[RCX], 98u);
  // 0x22 - 0 clears CF, ZF, SF, OF and AF and sets PF.
  const uint64_t expected = host_rep_compare_fault_keeps_flags() ? flag::CF : flag::PF;
  EXPECT_EQ(cpu.rflags & flag::ARITH, expected);
}

INSTANTIATE_TEST_SUITE_P(Engines, RepCompareFault, ::testing::Values(Engine::Interp, Engine::Jit),
                         [](const auto& i) { return i.param == Engine::Jit ? "jit" : "interp"; });

}  // namespace
}  // namespace vireo::test
