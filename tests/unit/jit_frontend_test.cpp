// The JIT frontend's integer families against the interpreter, instruction by instruction and
// from random, edge-biased states: bit instructions, cmpxchg/xadd/xchg, one-operand
// multiplies, double shifts, rotates through carry, movbe, the flag instructions and the
// count-register branches. Each test
// also checks that nothing fell back to the interpreter, so it really tests the translation.
#include "jit_harness.h"

namespace vireo::test {
namespace {

using Code = std::vector<uint8_t>;


// Runs each instruction alone (then syscall) from `seeds` states; `adjust` makes the
// interesting cases (equal comparisons, zero sources, bounded bit offsets).
template <class Adjust>
void each_matches_interpreter(const std::vector<Code>& insns, Adjust adjust, uint64_t flags_mask = ~0ull) {
  for (const Code& insn : insns) {
    for (uint64_t seed = 1; seed <= 40; ++seed) {
      CpuState s = random_state(seed);
      adjust(s, seed);
      Pair p;
      p.run(cat({insn, kSyscall}), s);
      SCOPED_TRACE(testing::Message() << "insn byte 0x" << std::hex << int(insn[insn.size() > 2 ? 2 : 0])
                                      << " seed " << std::dec << seed);
      EXPECT_EQ(p.jit_fallbacks, 0u);
      ASSERT_EQ(p.jit.r, StopReason::Syscall);
      // (syscall copied RFLAGS into r11.)
      EXPECT_EQ(p.jit.cpu.rflags & flags_mask, p.ref.cpu.rflags & flags_mask);
      EXPECT_EQ(p.jit.cpu.gpr[R11] & flags_mask, p.ref.cpu.gpr[R11] & flags_mask);
      p.jit.cpu.rflags = p.ref.cpu.rflags;
      p.jit.cpu.gpr[R11] = p.ref.cpu.gpr[R11];
      p.expect_same();
    }
  }
}

TEST(JitFrontend, BitInstructionsMatchInterpreter) {
  std::vector<Code> insns = {
      {0x48, 0x0F, 0xA3, 0xC8},        // bt rax, rcx
      {0x0F, 0xAB, 0x53, 0x08},        // bts dword [rbx+8], edx
      {0x66, 0x0F, 0xBA, 0x33, 0x0D},  // btr word [rbx], 13
      {0x49, 0x0F, 0xBA, 0xF9, 0x3F},  // btc r9, 63
      {0x48, 0x0F, 0xA3, 0x73, 0x40},  // bt qword [rbx+0x40], rsi (signed bit-string offset)
      {0x66, 0x0F, 0xAB, 0x7B, 0x40},  // bts word [rbx+0x40], di
      {0x48, 0x0F, 0xBC, 0xC2},        // bsf rax, rdx
      {0x0F, 0xBD, 0x4B, 0x04},        // bsr ecx, dword [rbx+4]
      {0x66, 0x45, 0x0F, 0xBC, 0xC1},  // bsf r8w, r9w
      {0xF3, 0x48, 0x0F, 0xBC, 0xC1},  // tzcnt rax, rcx
      {0xF3, 0x0F, 0xBD, 0xD6},        // lzcnt edx, esi
      {0xF3, 0x4D, 0x0F, 0xB8, 0xD3},  // popcnt r10, r11
  };
  each_matches_interpreter(insns, [](CpuState& s, uint64_t seed) {
    // Bit-string offsets within +-2 Ki bits of rbx, so the access stays in the data pages.
    for (int r : {RDX, RSI, RDI}) s.gpr[r] = uint64_t(int64_t(int16_t(s.gpr[r])) >> 4);
    if (seed % 4 == 0) s.gpr[RDX] = s.gpr[RCX] = s.gpr[RSI] = s.gpr[R9] = s.gpr[R11] = 0;  // zero sources
    if (seed % 8 == 1) s.gpr[RBX] = kData + 0x104;  // a non-zero bsr memory source
  });
}

TEST(JitFrontend, CmpxchgXaddXchgMatchInterpreter) {
  std::vector<Code> insns = {
      {0x48, 0x0F, 0xB1, 0x0B},              // cmpxchg qword [rbx], rcx
      {0x45, 0x0F, 0xB1, 0xC8},              // cmpxchg r8d, r9d
      {0x0F, 0xB0, 0xD4},                    // cmpxchg ah, dl
      {0x66, 0xF0, 0x0F, 0xB1, 0x73, 0x06},  // lock cmpxchg word [rbx+6], si
      {0x0F, 0xB1, 0xC8},                    // cmpxchg eax, ecx (the accumulator is the destination)
      {0x48, 0x0F, 0xC1, 0x53, 0x08},        // xadd qword [rbx+8], rdx
      {0x0F, 0xC1, 0xC0},                    // xadd eax, eax
      {0x66, 0x45, 0x0F, 0xC1, 0xE3},        // xadd r11w, r12w
      {0x4C, 0x87, 0x53, 0x10},              // xchg qword [rbx+16], r10
      {0x86, 0x63, 0x03},                    // xchg byte [rbx+3], ah
      {0x87, 0x4B, 0x14},                    // xchg dword [rbx+20], ecx
      // Locked forms, as host atomics (jit/frontend/locked.cpp):
      {0xF0, 0x48, 0x0F, 0xB1, 0x0B},        // lock cmpxchg qword [rbx], rcx
      {0xF0, 0x0F, 0xB0, 0x23},              // lock cmpxchg byte [rbx], ah
      {0xF0, 0x0F, 0xB1, 0x03},              // lock cmpxchg dword [rbx], eax (rax is the source too)
      {0xF0, 0x48, 0x0F, 0xC1, 0x53, 0x08},  // lock xadd qword [rbx+8], rdx
      {0xF0, 0x48, 0x01, 0x43, 0x18},        // lock add qword [rbx+24], rax
      {0xF0, 0x83, 0x6B, 0x04, 0x7F},        // lock sub dword [rbx+4], 127
      {0xF0, 0x66, 0xFF, 0x43, 0x02},        // lock inc word [rbx+2]
      {0xF0, 0xFE, 0x4B, 0x07},              // lock dec byte [rbx+7]
      {0x48, 0x87, 0x03},                    // xchg qword [rbx], rax
  };
  each_matches_interpreter(insns, [](CpuState& s, uint64_t seed) {
    if (seed % 4 == 0) s.gpr[RAX] = 0;  // equal to the (zero) memory at rbx
    if (seed % 4 == 2) s.gpr[RAX] = s.gpr[R8] = 0x1111111111111111 * (seed & 15);  // al == ah, eax == r8d
  });
}

TEST(JitFrontend, OneOperandMultipliesMatchInterpreter) {
  std::vector<Code> insns = {
      {0x48, 0xF7, 0xE1},        // mul rcx
      {0xF7, 0x2B},              // imul dword [rbx]
      {0xF6, 0xE3},              // mul bl
      {0x66, 0x41, 0xF7, 0xE9},  // imul r9w
      {0xF6, 0xEC},              // imul ah
      {0x48, 0xF7, 0x63, 0x08},  // mul qword [rbx+8]
      {0x48, 0xF7, 0xEA},        // imul rdx (a source that is also written)
      {0xF7, 0xE0},              // mul eax
  };
  // SF, ZF, AF and PF are undefined after a multiply (SDM Vol. 2, MUL/IMUL).
  each_matches_interpreter(insns, [](CpuState& s, uint64_t seed) {
    if (seed % 3 == 0) s.gpr[RAX] = seed % 2 ? 1 : ~uint64_t(0);  // products that fit
  }, ~(flag::SF | flag::ZF | flag::AF | flag::PF));
}

TEST(JitFrontend, DoubleShiftsMatchInterpreter) {
  std::vector<Code> insns = {
      {0x48, 0x0F, 0xA4, 0xC8, 0x05},  // shld rax, rcx, 5
      {0x0F, 0xA5, 0xC8},              // shld eax, ecx, cl
      {0x66, 0x0F, 0xAC, 0xD0, 0x03},  // shrd ax, dx, 3
      {0x48, 0x0F, 0xAD, 0x0B},        // shrd qword [rbx], rcx, cl
      {0x0F, 0xA4, 0xD0, 0x00},        // shld eax, edx, 0 (the register is still written)
      {0x66, 0x0F, 0xA5, 0xC8},        // shld ax, cx, cl
      {0x4D, 0x0F, 0xAD, 0xC8},        // shrd r8, r9, cl
  };
  // AF is undefined after a double shift, OF after one by more than 1 (SDM Vol. 2, SHLD).
  each_matches_interpreter(insns, [](CpuState& s, uint64_t seed) {
    // A 16-bit count past 16 leaves an undefined result (the host's differs from the
    // interpreter's; vireo-difftest checks the JIT against the hardware there).
    s.gpr[RCX] = (s.gpr[RCX] & ~uint64_t(0xFF)) | (s.gpr[RCX] & 0xFF) % 17;
    if (seed % 4 == 0) s.gpr[RCX] &= ~uint64_t(0xFF);          // a zero count keeps the flags
    if (seed % 4 == 1) s.gpr[RCX] = (s.gpr[RCX] & ~uint64_t(0xFF)) | 1;
  }, ~(flag::OF | flag::AF));
}

TEST(JitFrontend, RotatesThroughCarryAndMovbeMatchInterpreter) {
  std::vector<Code> insns = {
      {0xD0, 0xD0},              // rcl al, 1
      {0x48, 0xD1, 0xD8},        // rcr rax, 1
      {0xC1, 0xD1, 0x05},        // rcl ecx, 5
      {0x66, 0xD3, 0xDA},        // rcr dx, cl
      {0x48, 0xD3, 0x13},        // rcl qword [rbx], cl
      {0xC0, 0xDC, 0x0A},        // rcr ah, 10 (modulo 9)
      {0x0F, 0x38, 0xF0, 0x03},  // movbe eax, dword [rbx]
      {0x66, 0x0F, 0x38, 0xF1, 0x4B, 0x02},  // movbe word [rbx+2], cx
      {0x48, 0x0F, 0x38, 0xF1, 0x13},        // movbe qword [rbx], rdx
  };
  // OF is undefined after a rotate by more than 1 (SDM Vol. 2, RCL/RCR).
  each_matches_interpreter(insns, [](CpuState& s, uint64_t seed) {
    if (seed % 4 == 0) s.gpr[RCX] &= ~uint64_t(0xFF);  // a zero count keeps the flags
    if (seed % 4 == 1) s.gpr[RCX] = (s.gpr[RCX] & ~uint64_t(0xFF)) | 1;
  }, ~flag::OF);
}

TEST(JitFrontend, FlagInstructionsMatchInterpreter) {
  std::vector<Code> insns = {
      {0xFD},              // std
      {0xFC},              // cld
      {0x9F},              // lahf
      {0x9E},              // sahf
      {0xF5},              // cmc
      {0xF8},              // clc
      {0xF9},              // stc
      {0xFD, 0xA4, 0xFC},  // std; movsb (steps down); cld
      {0xFD, 0xF8, 0x48, 0xAB},  // std; clc; stosq (DF survives a later flag write)
  };
  each_matches_interpreter(insns, [](CpuState& s, uint64_t seed) {
    if (seed % 2) s.rflags |= flag::DF;
    s.gpr[RSI] = kData + 0x40 + seed;
    s.gpr[RDI] = kData + 0x400 + seed;
  });
}

TEST(JitFrontend, CountRegisterBranchesMatchInterpreter) {
  const std::vector<Code> programs = {
      // xor eax, eax; l: add eax, 3; loop l; syscall
      {0x31, 0xC0, 0x83, 0xC0, 0x03, 0xE2, 0xFB, 0x0F, 0x05},
      // jrcxz +5; mov eax, 7; syscall
      {0xE3, 0x05, 0xB8, 0x07, 0x00, 0x00, 0x00, 0x0F, 0x05},
      // jecxz +5; mov eax, 7; syscall (ECX only)
      {0x67, 0xE3, 0x05, 0xB8, 0x07, 0x00, 0x00, 0x00, 0x0F, 0x05},
  };
  for (const Code& code : programs) {
    for (uint64_t seed = 1; seed <= 12; ++seed) {
      CpuState s = random_state(seed);
      s.gpr[RCX] = seed % 3 == 0 ? 0 : seed % 3 == 1 ? uint64_t(1) << 32 : seed;
      if (code[0] == 0x31) s.gpr[RCX] = seed % 3 + 1;  // (loop: a short, non-zero count)
      Pair p;
      p.run(code, s);
      EXPECT_EQ(p.jit_fallbacks, 0u);
      ASSERT_EQ(p.jit.r, StopReason::Syscall);
      p.expect_same();
    }
  }
}

TEST(JitFrontend, FaultsInsideTheNewFamiliesArePrecise) {
  // add rax, rcx (dirty before the fault); then a faulting access from each family.
  std::vector<Code> insns = {
      {0x48, 0x0F, 0xA3, 0x33},  // bt qword [rbx], rsi: the offset walks off the mapping
      {0x48, 0x0F, 0xB1, 0x0F},  // cmpxchg qword [rdi], rcx
      {0x48, 0xF7, 0x27},        // mul qword [rdi]
      {0x48, 0x87, 0x17},        // xchg qword [rdi], rdx
      {0xF0, 0x48, 0x0F, 0xB1, 0x0F},  // lock cmpxchg qword [rdi], rcx (the dirty rax parked in r11)
      {0xF0, 0x48, 0x0F, 0xC1, 0x07},  // lock xadd qword [rdi], rax
  };
  for (const Code& insn : insns) {
    for (uint64_t seed = 1; seed <= 6; ++seed) {
      CpuState s = random_state(seed);
      s.gpr[RSI] = uint64_t(1) << 20;  // bit 1 Mi: 128 KiB past rbx, unmapped
      s.gpr[RDI] = seed % 2 ? 0x5000 : uint64_t(1) << 50;  // unmapped / outside the window
      Pair p;
      p.run(cat({{0x48, 0x01, 0xC8}, insn, kSyscall}), s);
      EXPECT_EQ(p.jit_fallbacks, 0u);
      ASSERT_EQ(p.jit.r, StopReason::Fault);
      EXPECT_EQ(p.jit.cpu.rip, kCode + 3);
      EXPECT_EQ(p.jit.cpu.fault.address, p.ref.cpu.fault.address);
      p.expect_same();
    }
  }
}

}  // namespace
}  // namespace vireo::test
