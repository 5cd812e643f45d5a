// String instructions under the JIT against the interpreter: rep movs/stos and repe/repne
// cmps/scas through the helper in both directions (overlapping copies, page-crossing counts, faults past the mapping), the
// non-rep forms as loads and stores, and rep stos overwriting the code it runs in.
#include "jit_harness.h"

namespace vireo::test {
namespace {

using Code = std::vector<uint8_t>;

TEST(JitString, MovsStosLodsMatchInterpreter) {
  const std::vector<Code> insns = {
      {0xF3, 0xA4},        // rep movsb
      {0xF3, 0x66, 0xA5},  // rep movsw
      {0xF3, 0xA5},        // rep movsd
      {0xF3, 0x48, 0xA5},  // rep movsq
      {0xF2, 0xA4},        // repne movsb (acts as rep)
      {0xF3, 0xAA},        // rep stosb
      {0xF3, 0x66, 0xAB},  // rep stosw
      {0xF3, 0xAB},        // rep stosd
      {0xF3, 0x48, 0xAB},  // rep stosq
      {0xA4},              // movsb
      {0x48, 0xA5},        // movsq
      {0x66, 0xAB},        // stosw
      {0x48, 0xAB},        // stosq
      {0xF3, 0xA6},        // repe cmpsb
      {0xF2, 0xAE},        // repne scasb
      {0xF3, 0x48, 0xAF},  // repe scasq
      {0xF2, 0xA7},        // repne cmpsd
      {0x66, 0xA7},        // cmpsw
      {0xAF},              // scasd
      {0xAC},              // lodsb
      {0xAD},              // lodsd
      {0x48, 0xAD},        // lodsq
  };
  for (const Code& insn : insns) {
    for (uint64_t seed = 1; seed <= 40; ++seed) {
      CpuState s = random_state(seed);
      std::mt19937_64 rng(seed * 977);
      s.gpr[RSI] = kData + rng() % 0x8000;
      s.gpr[RDI] = kData + rng() % 0x8000;
      if (seed % 2 == 0) s.gpr[RSI] &= ~uint64_t(7), s.gpr[RDI] &= ~uint64_t(7);  // aligned
      if (seed % 5 == 1) s.gpr[RAX] = 0;  // scas: equal to the zero data past 256 bytes
      if (seed % 4 == 1) s.gpr[RDI] = s.gpr[RSI] + seed % 16;  // overlapping, just above
      if (seed % 4 == 2) s.gpr[RCX] = seed % 3;                 // 0, 1, 2
      else s.gpr[RCX] = rng() % 6000;                           // may run past the mapping
      if (seed % 3 == 0) s.rflags |= flag::DF;  // backwards (may run into the code pages)
      Pair p;
      p.run(cat({insn, kSyscall}), s);
      SCOPED_TRACE(testing::Message() << "insn byte 0x" << std::hex << int(insn.back()) << " seed "
                                      << std::dec << seed);
      EXPECT_EQ(p.jit.r, p.ref.r);
      if (p.ref.r == StopReason::Fault) {
        EXPECT_EQ(p.jit.cpu.fault.address, p.ref.cpu.fault.address);
        EXPECT_EQ(p.jit.cpu.fault.is_write, p.ref.cpu.fault.is_write);
      }
      EXPECT_EQ(p.jit_fallbacks, 0u);  // everything runs translated
      p.expect_same();
    }
  }
}

TEST(JitString, RepStosOverwritingItsOwnBlockTakesEffect) {
  // lea rdi, [rip+9]; mov ecx, 5; mov al, 0x90; rep stosb (over the next instruction);
  // mov eax, 1 (becomes five nops); syscall
  Code code = cat({{0x48, 0x8D, 0x3D, 0x09, 0, 0, 0}, {0xB9, 0x05, 0, 0, 0}, {0xB0, 0x90}, {0xF3, 0xAA},
                   {0xB8, 0x01, 0, 0, 0}, kSyscall});
  CpuState s = random_state(9);
  s.gpr[RAX] = 0x1234;
  Pair p;
  p.run(code, s);
  ASSERT_EQ(p.jit.r, StopReason::Syscall);
  EXPECT_EQ(p.jit.cpu.gpr[RAX], 0x1290u);
  EXPECT_EQ(p.jit_fallbacks, 0u);  // (the writer reruns in the interpreter as SMC, not as a fallback)
  p.expect_same();
}

}  // namespace
}  // namespace vireo::test
