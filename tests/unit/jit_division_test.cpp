// div/idiv under the JIT against the interpreter: the host division where it cannot fault, the
// interpreter on the slow path (#DE, and signed dividends wider than the operand), and a
// precise #DE after dirty registers.
#include "jit_harness.h"

namespace vireo::test {
namespace {

using Code = std::vector<uint8_t>;

struct Form {
  Code code;
  unsigned size;
  bool is_signed;
};

int64_t sign_extend(uint64_t v, unsigned size) {
  return size == 8 ? int64_t(v) : int64_t(v << (64 - 8 * size)) >> (64 - 8 * size);
}

// `f` then a syscall under both engines from `s`: the same stop, #DE where the interpreter
// faults, the same state after.
Pair run_form(const Code& f, const CpuState& s) {
  Pair p;
  p.run(cat({f, kSyscall}), s);
  EXPECT_EQ(p.jit.r, p.ref.r);
  if (p.ref.r == StopReason::Fault) EXPECT_EQ(p.jit.cpu.fault.vector, VEC_DE);
  p.expect_same();
  return p;
}

TEST(JitDivision, MatchesInterpreterOnFastAndSlowPaths) {
  const std::vector<Form> forms = {
      {{0x48, 0xF7, 0xF1}, 8, false},        // div rcx
      {{0x48, 0xF7, 0xF9}, 8, true},         // idiv rcx
      {{0xF7, 0x73, 0x04}, 4, false},        // div dword [rbx+4]
      {{0xF7, 0x7B, 0x04}, 4, true},         // idiv dword [rbx+4]
      {{0x66, 0x41, 0xF7, 0xF1}, 2, false},  // div r9w
      {{0x66, 0x41, 0xF7, 0xF9}, 2, true},   // idiv r9w
      {{0xF6, 0xF1}, 1, false},              // div cl
      {{0xF6, 0xF9}, 1, true},               // idiv cl
      {{0xF6, 0x73, 0x05}, 1, false},        // div byte [rbx+5]
      {{0xF6, 0xFC}, 1, true},               // idiv ah (the divisor is the dividend's high half)
      {{0x48, 0xF7, 0xF0}, 8, false},        // div rax (the divisor is the dividend's low half)
      {{0xF7, 0xFA}, 4, true},               // idiv edx
  };
  for (const Form& f : forms) {
    for (uint64_t seed = 1; seed <= 60; ++seed) {
      CpuState s = random_state(seed);
      s.gpr[RBX] = kData + 0x10;  // non-zero bytes (i * 7)
      int mode = int(seed % 3);
      if (mode == 0) {
        // A dividend that fits the width: the host divides (unless the divisor is zero).
        int64_t sign = f.is_signed ? sign_extend(s.gpr[RAX], f.size) >> 63 : 0;
        if (f.size == 1) s.gpr[RAX] = (s.gpr[RAX] & ~uint64_t(0xFF00)) | (uint64_t(sign) & 0xFF00);
        else s.gpr[RDX] = uint64_t(sign);
      } else if (mode == 2) {
        // Edges: MIN / -1, a divisor of +-1, a dividend wider than the width whose quotient
        // still fits (the signed slow path).
        s.gpr[RCX] = s.gpr[R9] = seed % 2 ? ~uint64_t(0) : 1;
        if (seed % 4 == 2) s.gpr[RAX] = uint64_t(1) << (8 * f.size - 1);
        if (seed % 5 == 2) {
          s.gpr[RDX] = 1;
          s.gpr[RCX] = s.gpr[R9] = 0x10;
        }
      }
      Pair p;
      p.run(cat({f.code, kSyscall}), s);
      SCOPED_TRACE(testing::Message() << "form byte 0x" << std::hex << int(f.code.back())
                                      << " size " << f.size << " seed " << std::dec << seed);
      EXPECT_EQ(p.jit.r, p.ref.r);
      if (p.ref.r == StopReason::Fault) {
        EXPECT_EQ(p.jit.cpu.fault.vector, VEC_DE);
        EXPECT_EQ(p.jit.cpu.fault.vector, p.ref.cpu.fault.vector);
      }
      if (mode == 0 && p.ref.r == StopReason::Syscall) EXPECT_EQ(p.jit_fallbacks, 0u);
      p.expect_same();
    }
  }
}

TEST(JitDivision, CqoThenIdivMatchesTheInterpreter) {
  // cqo; idiv r: the high half is the sign of the low half by construction, so the host's own
  // cqo builds the dividend and only the divisor is checked (zero, or -1 under MIN). Divisors
  // in other registers, in rax (the low half itself) and in rdx (the sign: 0 or -1); an add
  // before it leaves its flags dirty at the #DE.
  const std::vector<Code> forms = {
      {0x48, 0x99, 0x48, 0xF7, 0xF9},                    // cqo; idiv rcx
      {0x48, 0x99, 0x49, 0xF7, 0xF9},                    // cqo; idiv r9
      {0x48, 0x99, 0x48, 0xF7, 0xF8},                    // cqo; idiv rax
      {0x48, 0x99, 0x48, 0xF7, 0xFA},                    // cqo; idiv rdx
      {0x48, 0x01, 0xCE, 0x48, 0x99, 0x48, 0xF7, 0xFE},  // add rsi, rcx; cqo; idiv rsi
  };
  for (const Code& f : forms) {
    for (uint64_t seed = 1; seed <= 40; ++seed) {
      CpuState s = random_state(seed);
      switch (seed % 8) {
        case 0: s.gpr[RCX] = s.gpr[R9] = s.gpr[RSI] = 0; break;            // #DE
        case 1: s.gpr[RCX] = s.gpr[R9] = ~uint64_t(0); s.gpr[RSI] = 0; break;  // -1
        case 2: s.gpr[RAX] = uint64_t(1) << 63; s.gpr[RCX] = s.gpr[R9] = ~uint64_t(0); break;  // MIN / -1
        case 3: s.gpr[RAX] = uint64_t(1) << 63; s.gpr[RCX] = s.gpr[R9] = 1; break;
        case 4: s.gpr[RAX] = 1000003; s.gpr[RCX] = s.gpr[R9] = uint64_t(-1000); break;
        default: break;
      }
      SCOPED_TRACE(testing::Message() << "form ending 0x" << std::hex << int(f.back()) << " seed " << std::dec << seed);
      const Pair p = run_form(f, s);
      if (p.ref.r != StopReason::Fault) EXPECT_EQ(p.jit_fallbacks, 0u);  // (a cqo'd dividend never needs the interpreter)
    }
  }
}

TEST(JitDivision, DivideErrorIsPreciseAfterDirtyRegisters) {
  // add rax, rcx; sub r8, r9; div rsi (rsi = 0); mov eax, 7; syscall
  Code code = cat({{0x48, 0x01, 0xC8}, {0x4D, 0x29, 0xC8}, {0x48, 0xF7, 0xF6}, {0xB8, 0x07, 0, 0, 0}, kSyscall});
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    CpuState s = random_state(seed);
    s.gpr[RSI] = 0;
    Pair p;
    p.run(code, s);
    ASSERT_EQ(p.jit.r, StopReason::Fault);
    EXPECT_EQ(p.jit.cpu.fault.vector, VEC_DE);
    EXPECT_EQ(p.jit.cpu.rip, kCode + 6);
    EXPECT_EQ(p.jit_fallbacks, 1u);  // the slow path ran the interpreter
    p.expect_same();
  }
}

TEST(JitDivision, SlowPathContinuesAfterTheInstruction) {
  // idiv rcx with rdx:rax = 2^64 (wider than 64 bits, quotient 2^60 fits); add rax, 1; syscall
  Code code = cat({{0x48, 0xF7, 0xF9}, {0x48, 0x83, 0xC0, 0x01}, kSyscall});
  CpuState s = random_state(5);
  s.gpr[RDX] = 1;
  s.gpr[RAX] = 0;
  s.gpr[RCX] = 16;
  Pair p;
  p.run(code, s);
  ASSERT_EQ(p.jit.r, StopReason::Syscall);
  EXPECT_EQ(p.jit.cpu.gpr[RAX], (uint64_t(1) << 60) + 1);
  EXPECT_EQ(p.jit_fallbacks, 1u);
  p.expect_same();
}

TEST(JitDivision, RemainderTakenFromTheHostDivisionMatchesTheInterpreter) {
  // The frontend's remainder, low - q * divisor, is the host division's own (rdx) where its
  // readers allow: 64-bit (exact), 32-bit (zero-extended), 16-bit (its low half read only).
  // Read as a whole register, through flags, merged into a word, in an address, and with
  // other values live in rax and rdx's host registers; each against the interpreter.
  const std::vector<Code> forms = {
      {0x48, 0x99, 0x48, 0xF7, 0xFE, 0x48, 0x8D, 0x0C, 0x02, 0x48, 0x89, 0xD0},  // cqo; idiv rsi; lea rcx, [rdx+rax]; mov rax, rdx
      {0x31, 0xD2, 0xF7, 0xF1, 0x85, 0xD2, 0x41, 0x89, 0xD0, 0x4C, 0x01, 0xCA},  // xor edx, edx; div ecx; test edx, edx; mov r8d, edx; add rdx, r9
      {0x66, 0x99, 0x66, 0xF7, 0xFE, 0x66, 0x41, 0x89, 0xD2, 0x66, 0x01, 0xD0},  // cwd; idiv si; mov r10w, dx; add ax, dx
      {0x49, 0x89, 0xD3, 0x31, 0xD2, 0x49, 0xF7, 0xF1, 0x48, 0x6B, 0xD2, 0x03, 0x4C, 0x01, 0xD8},  // mov r11, rdx; xor edx, edx; div r9; imul rdx, rdx, 3; add rax, r11
      {0x99, 0xF7, 0x7B, 0x04, 0x44, 0x8D, 0x62, 0x01},  // cdq; idiv dword [rbx+4]; lea r12d, [rdx+1]
  };
  for (const Code& f : forms) {
    for (uint64_t seed = 1; seed <= 40; ++seed) {
      CpuState s = random_state(seed);
      switch (seed % 6) {
        case 0: s.gpr[RCX] = s.gpr[R9] = s.gpr[RSI] = 0; break;  // #DE
        case 1: s.gpr[RCX] = s.gpr[R9] = s.gpr[RSI] = ~uint64_t(0); break;
        case 2: s.gpr[RAX] = uint64_t(-1000003); s.gpr[RCX] = s.gpr[R9] = s.gpr[RSI] = 1000; break;  // negative remainders
        case 3: s.gpr[RAX] = 0x7FFF'FFFF'8000'7FFFull; s.gpr[RCX] = s.gpr[R9] = s.gpr[RSI] = 0xFFFF'FFFF'FFFF'FF07ull; break;
        default: break;
      }
      SCOPED_TRACE(testing::Message() << "form ending 0x" << std::hex << int(f.back()) << " seed " << std::dec << seed);
      run_form(f, s);
    }
  }
}

TEST(JitDivision, RemainderInALoopMatchesTheInterpreter) {
  // lua's `i % 1000` shape, as a loop in place: rcx counts down, rax = rcx, cqo; idiv rsi;
  // r8 += rdx (the remainder, also left in rdx at the exit).
  // loop: mov rax, rcx; cqo; idiv rsi; add r8, rdx; sub rcx, 1; jnz loop; syscall
  const Code code = cat({{0x48, 0x89, 0xC8, 0x48, 0x99, 0x48, 0xF7, 0xFE, 0x49, 0x01, 0xD0, 0x48, 0x83, 0xE9, 0x01,
                          0x75, 0xEF},
                         kSyscall});
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    CpuState s = random_state(seed);
    s.gpr[RCX] = 300 + seed;
    s.gpr[RSI] = seed % 2 ? 7 : uint64_t(-13);
    Pair p;
    p.run(code, s);
    ASSERT_EQ(p.jit.r, StopReason::Syscall);
    EXPECT_EQ(p.jit_fallbacks, 0u);
    p.expect_same();
  }
}

}  // namespace
}  // namespace vireo::test
