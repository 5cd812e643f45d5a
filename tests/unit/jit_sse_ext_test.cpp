// SSE3/SSSE3/SSE4.1 forms and scalar cmpsd under the JIT against the interpreter: each is the
// host's own instruction on the guest XMM registers, so nothing may fall back. (The full
// cross-check against native hardware is vireo-difftest's sse3/ssse3/sse4.1 families.)
#include "jit_harness.h"

namespace vireo::test {
namespace {

using Code = std::vector<uint8_t>;

TEST(JitSseExt, LaterSseFormsAreTranslatedAndMatchInterpreter) {
  const std::vector<Code> insns = {
      {0x66, 0x0F, 0x38, 0x00, 0xC1},        // pshufb xmm0, xmm1
      {0x66, 0x0F, 0x38, 0x40, 0xCA},        // pmulld xmm1, xmm2
      {0x66, 0x0F, 0x38, 0x17, 0xC1},        // ptest xmm0, xmm1 (flags)
      {0x66, 0x0F, 0x38, 0x30, 0x03},        // pmovzxbw xmm0, qword [rbx]
      {0x66, 0x0F, 0x38, 0x3D, 0x03},        // pmaxsd xmm0, [rbx] (aligned m128)
      {0x66, 0x0F, 0x3A, 0x0F, 0xC1, 0x04},  // palignr xmm0, xmm1, 4
      {0x66, 0x0F, 0x3A, 0x0E, 0xC1, 0xAA},  // pblendw xmm0, xmm1, 0xaa
      {0x66, 0x0F, 0x3A, 0x0A, 0xC1, 0x01},  // roundss xmm0, xmm1, 1
      {0xF2, 0x0F, 0x7C, 0xC1},              // haddps xmm0, xmm1
      {0xF2, 0x0F, 0x12, 0x03},              // movddup xmm0, qword [rbx]
      {0x0F, 0x12, 0xC1},                    // movhlps xmm0, xmm1
      {0xF2, 0x0F, 0xC2, 0xC1, 0x01},        // cmpsd xmm0, xmm1, 1 (cmpltsd)
  };
  for (const Code& insn : insns) {
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      CpuState s = random_state(seed);
      std::mt19937_64 rng(seed);
      for (int r = 0; r < 4; ++r)
        for (uint64_t& q : s.xmm[r].u64) q = rng();
      if (seed % 4 == 0) s.xmm[1] = s.xmm[0];  // equal operands (ptest ZF, cmpsd)
      Pair p;
      p.run(cat({insn, kSyscall}), s);
      SCOPED_TRACE(testing::Message() << "insn byte 0x" << std::hex << int(insn[insn.size() - 2])
                                      << " seed " << std::dec << seed);
      EXPECT_EQ(p.jit_fallbacks, 0u);
      ASSERT_EQ(p.jit.r, StopReason::Syscall);
      for (int r = 0; r < 4; ++r) {
        EXPECT_EQ(p.jit.cpu.xmm[r].u64[0], p.ref.cpu.xmm[r].u64[0]) << "xmm" << r;
        EXPECT_EQ(p.jit.cpu.xmm[r].u64[1], p.ref.cpu.xmm[r].u64[1]) << "xmm" << r;
      }
      p.expect_same();
    }
  }
}

}  // namespace
}  // namespace vireo::test
