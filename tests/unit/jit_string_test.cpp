// String instructions under the JIT against the interpreter: rep movs/stos and repe/repne
// cmps/scas through the helper in both directions (overlapping copies, page-crossing counts, faults past the mapping), the
// non-rep forms as loads and stores, rep with rCX = 0, faults in the middle of a rep, and rep
// stos overwriting the code it runs in.
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

// rCX = 0: the helper returns before its fault scope and window checks, so an operand that
// is unmapped, past the guest window or not canonical changes nothing and stays translated
// (before, one past the window went to the interpreter); the flags an `add` left pending
// before it are those after it.
TEST(JitString, RepWithZeroCountDoesNothingWhereverItPoints) {
  const std::vector<Code> insns = {
      {0xF3, 0xA4},        // rep movsb
      {0xF3, 0x48, 0xA5},  // rep movsq
      {0xF3, 0xAA},        // rep stosb
      {0xF3, 0x48, 0xAB},  // rep stosq
      {0xF3, 0xA6},        // repe cmpsb
      {0xF2, 0xAE},        // repne scasb
  };
  const uint64_t where[] = {0x40000, uint64_t(1) << 46, uint64_t(1) << 62, 0x8000'0000'0000'0000};
  for (const Code& insn : insns) {
    for (uint64_t a : where) {
      for (bool df : {false, true}) {
        CpuState s = random_state(a ^ insn.back());
        s.gpr[RCX] = 0;
        s.gpr[RSI] = a;
        s.gpr[RDI] = a + 64;
        if (df) s.rflags |= flag::DF;
        Pair p;
        p.run(cat({{0x01, 0xD8}, insn, kSyscall}), s);  // add eax, ebx; the rep; syscall
        SCOPED_TRACE(testing::Message() << "insn byte 0x" << std::hex << int(insn.back()) << " at " << a
                                        << (df ? " DF" : ""));
        ASSERT_EQ(p.jit.r, StopReason::Syscall);
        EXPECT_EQ(p.jit.cpu.gpr[RSI], a);
        EXPECT_EQ(p.jit.cpu.gpr[RDI], a + 64);
        EXPECT_EQ(p.jit_fallbacks, 0u);  // (rcx is the syscall's return address by then)
        p.expect_same();
      }
    }
  }
}

// A fault in the middle of a rep leaves rCX/rSI/rDI at the faulting iteration, as the
// interpreter (and the CPU) leave them: upwards into the unmapped page after the data, and
// with DF = 1 a source running down out of the code pages. Each one after another, in one
// thread: the helper's fault scope (one per thread) serves the next after a fault.
TEST(JitString, FaultInTheMiddleOfARepLeavesTheIterationsDone) {
  struct Case {
    Code insn;
    bool df;
    uint64_t rsi, rdi, rcx;  // at the start
    uint64_t fault_at, rsi_after, rdi_after, rcx_after;
    bool is_write;
  };
  const uint64_t end = kData + 0x10000;  // the first unmapped byte above the data
  const Case cases[] = {
      {{0xF3, 0x48, 0xAB}, false, 0, end - 40, 100, end, 0, end, 95, true},          // rep stosq
      {{0xF3, 0xAA}, false, 0, end - 3, 10, end, 0, end, 7, true},                   // rep stosb
      {{0xF3, 0x48, 0xA5}, false, kData, end - 16, 9, end, kData + 16, end, 7, true},  // rep movsq
      {{0xF3, 0xA4}, false, end - 5, kData, 300, end, end, kData + 5, 295, false},   // rep movsb
      // DF = 1: the source down out of the code pages (0x10000) into the unmapped page below
      {{0xF3, 0x48, 0xA5}, true, kCode + 16, kData + 0x800, 100, kCode - 8, kCode - 8, kData + 0x800 - 24,
       97, false},
      {{0xF3, 0x48, 0xAB}, true, 0, kData + 0x800, 0x80, 0, 0, kData + 0x800 - 0x400, 0, true},  // no fault
  };
  for (const Case& c : cases) {
    CpuState s = random_state(c.rcx);
    s.gpr[RSI] = c.rsi ? c.rsi : s.gpr[RSI];
    s.gpr[RDI] = c.rdi;
    s.gpr[RCX] = c.rcx;
    if (c.df) s.rflags |= flag::DF;
    const uint64_t rsi_after = c.rsi ? c.rsi_after : s.gpr[RSI];
    Pair p;
    p.run(cat({c.insn, kSyscall}), s);
    SCOPED_TRACE(testing::Message() << "insn byte 0x" << std::hex << int(c.insn.back()) << " rdi " << c.rdi
                                    << (c.df ? " DF" : ""));
    ASSERT_EQ(p.jit.r, c.fault_at ? StopReason::Fault : StopReason::Syscall);
    if (c.fault_at) {
      EXPECT_EQ(p.jit.cpu.rip, kCode);  // at the instruction, which restarts it
      EXPECT_EQ(p.jit.cpu.fault.address, c.fault_at);
      EXPECT_EQ(p.jit.cpu.fault.is_write, c.is_write);
      EXPECT_EQ(p.ref.cpu.fault.address, c.fault_at);
    }
    EXPECT_EQ(p.jit.cpu.gpr[RSI], rsi_after);
    EXPECT_EQ(p.jit.cpu.gpr[RDI], c.rdi_after);
    if (c.fault_at) EXPECT_EQ(p.jit.cpu.gpr[RCX], c.rcx_after);  // (else the syscall's return address)
    EXPECT_EQ(p.jit_fallbacks, 0u);
    p.expect_same();
  }
}

// rep movs/stos neither read nor write the flags, so the block leaves its flags lazy across
// the helper call (and the helper does not settle them): flags of every lazy kind (both
// layers, a shift, an imul's or a rotate's CF|OF, a captured adc, a bt's CF) written before
// the rep, in its block or in the one before, are the same after it (lahf, seto, and a
// partial write by inc over them, which must settle what is still pending), and at a fault in
// the middle of it; against the interpreter.
TEST(JitString, FlagsWrittenBeforeARepMovsStosSurviveIt) {
  const std::vector<Code> writers = {
      {0x01, 0xD8},                    // add eax, ebx
      {0x39, 0xDA},                    // cmp edx, ebx
      {0x48, 0x85, 0xD2},              // test rdx, rdx
      {0x01, 0xD8, 0xFF, 0xC2},        // add eax, ebx; inc edx (two layers)
      {0xFF, 0xCA},                    // dec edx (over older flags)
      {0xC1, 0xE2, 0x03},              // shl edx, 3
      {0x0F, 0xAF, 0xD3},              // imul edx, ebx (CF|OF)
      {0x31, 0xDA, 0xC1, 0xC2, 0x05},  // xor edx, ebx; rol edx, 5
      {0x11, 0xDA},                    // adc edx, ebx
      {0x0F, 0xBA, 0xE2, 0x03},        // bt edx, 3 (CF)
  };
  const std::vector<Code> reps = {
      {0xF3, 0xAA},        // rep stosb
      {0xF3, 0x48, 0xAB},  // rep stosq
      {0xF3, 0xA4},        // rep movsb
      {0xF3, 0x48, 0xA5},  // rep movsq
  };
  // lahf; seto r8b; mov r10, rax; inc r9d; lahf; seto r11b
  const Code readers = {0x9F, 0x41, 0x0F, 0x90, 0xC0, 0x49, 0x89, 0xC2, 0x41, 0xFF, 0xC1, 0x9F, 0x41, 0x0F, 0x90, 0xC3};
  const uint64_t end = kData + 0x10000;  // the first unmapped byte above the data
  for (const Code& w : writers) {
    for (const Code& rep : reps) {
      for (int variant = 0; variant < 6; ++variant) {
        const bool other_block = variant & 1;  // the flags pending in CpuState from the block before
        const int count = variant / 2;         // 0: rcx = 0, 1: some, 2: runs into the unmapped page
        CpuState s = random_state(uint64_t(variant) * 131 + w.size() * 17 + rep.back());
        s.gpr[RSI] = kData + 0x800;
        s.gpr[RDI] = count == 2 ? end - 24 : kData + 0x1000;
        s.gpr[RCX] = count == 0 ? 0 : count == 1 ? 37 : 100;
        // jmp rel32 +0: the rep starts another block (a direct jmp ends the block)
        const Code split = other_block ? Code{0xE9, 0, 0, 0, 0} : Code{};
        Pair p;
        p.run(cat({w, split, rep, readers, kSyscall}), s);
        SCOPED_TRACE(testing::Message() << "writer " << w.size() << " bytes, 0x" << std::hex << int(w[0])
                                        << ", rep 0x" << int(rep.back()) << std::dec << ", variant " << variant);
        ASSERT_EQ(p.jit.r, count == 2 ? StopReason::Fault : StopReason::Syscall);
        EXPECT_EQ(p.jit_fallbacks, 0u);
        p.expect_same();  // (rflags included: at the fault, the writer's flags)
      }
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
