// General-register instructions that real programs' hot paths ran as interpreter fallbacks
// (helper/isa2): ADX's adcx/adox (Go's math/big and GMP: two carry chains beside mulx), BMI2's
// pdep/pext, SSE4.2's crc32 and the `lock or m, 0` fence. Under the JIT adcx/adox are the IR's adc with the carry moved
// through CF or OF alone; pdep/pext/crc32 the host's own instruction where it has them. Each is
// checked here against the interpreter, registers, all of RFLAGS and memory. (vireo-difftest's
// adx, bmi and sse4.2 families check them against native execution.)
#include <sys/platform/x86.h>

#include "jit_harness.h"

namespace vireo::test {
namespace {

using Code = std::vector<uint8_t>;

struct Case {
  const char* name;
  Code bytes;
  bool host_feature;  // the host runs it (otherwise the JIT leaves it to the interpreter)
};

std::vector<Case> cases() {
  const bool bmi2 = CPU_FEATURE_ACTIVE(BMI2), sse42 = CPU_FEATURE_ACTIVE(SSE4_2);
  const Code all_ones_rcx = {0x48, 0xC7, 0xC1, 0xFF, 0xFF, 0xFF, 0xFF};  // mov rcx, -1
  return {
      {"adcx rax, rcx", {0x66, 0x48, 0x0F, 0x38, 0xF6, 0xC1}, true},
      {"adcx r9d, [rbx+4]", {0x66, 0x44, 0x0F, 0x38, 0xF6, 0x4B, 0x04}, true},
      {"adcx rax, [rbx+8]", {0x66, 0x48, 0x0F, 0x38, 0xF6, 0x43, 0x08}, true},
      {"adox rdx, r10", {0xF3, 0x49, 0x0F, 0x38, 0xF6, 0xD2}, true},
      {"adox esi, [rbx]", {0xF3, 0x0F, 0x38, 0xF6, 0x33}, true},
      {"adox r11, [rbx+16]", {0xF3, 0x4C, 0x0F, 0x38, 0xF6, 0x5B, 0x10}, true},
      {"adox rax, rax", {0xF3, 0x48, 0x0F, 0x38, 0xF6, 0xC0}, true},
      // a + all-ones + carry: the sum equals a, with a carry out exactly when one came in
      {"mov rcx, -1; adcx rax, rcx", cat({all_ones_rcx, {0x66, 0x48, 0x0F, 0x38, 0xF6, 0xC1}}), true},
      {"mov rcx, -1; stc; adcx rax, rcx", cat({all_ones_rcx, {0xF9, 0x66, 0x48, 0x0F, 0x38, 0xF6, 0xC1}}), true},
      {"mov rcx, -1; adox r10, rcx", cat({all_ones_rcx, {0xF3, 0x4C, 0x0F, 0x38, 0xF6, 0xD1}}), true},
      // carry-in from flags the block computed (lazy in the backend), carry-out read by a jcc-like setcc
      {"add rcx, rdx; adox r9, rcx; seto dl",
       {0x48, 0x01, 0xD1, 0xF3, 0x4C, 0x0F, 0x38, 0xF6, 0xC9, 0x0F, 0x90, 0xC2}, true},
      {"add rcx, rdx; adcx r8, rax; setb sil",
       {0x48, 0x01, 0xD1, 0x66, 0x4C, 0x0F, 0x38, 0xF6, 0xC0, 0x40, 0x0F, 0x92, 0xC6}, true},
      {"cmp rax, rcx; adox rax, rax", {0x48, 0x39, 0xC8, 0xF3, 0x48, 0x0F, 0x38, 0xF6, 0xC0}, true},
      {"pdep r8, r9, r10", {0xC4, 0x42, 0xB3, 0xF5, 0xC2}, bmi2},
      {"pdep eax, ecx, [rbx+4]", {0xC4, 0xE2, 0x73, 0xF5, 0x43, 0x04}, bmi2},
      {"pext rdx, rsi, [rbx]", {0xC4, 0xE2, 0xCA, 0xF5, 0x13}, bmi2},
      {"pext r11d, r12d, r13d", {0xC4, 0x42, 0x1A, 0xF5, 0xDD}, bmi2},
      {"crc32 eax, cl", {0xF2, 0x0F, 0x38, 0xF0, 0xC1}, sse42},
      {"crc32 eax, ah", {0xF2, 0x0F, 0x38, 0xF0, 0xC4}, sse42},
      {"crc32 r9d, word [rbx+2]", {0x66, 0xF2, 0x44, 0x0F, 0x38, 0xF1, 0x4B, 0x02}, sse42},
      {"crc32 ecx, edx", {0xF2, 0x0F, 0x38, 0xF1, 0xCA}, sse42},
      {"crc32 eax, dword [rbx+3]", {0xF2, 0x0F, 0x38, 0xF1, 0x43, 0x03}, sse42},
      {"crc32 rax, r8", {0xF2, 0x49, 0x0F, 0x38, 0xF1, 0xC0}, sse42},
      {"crc32 rdx, qword [rbx+8]", {0xF2, 0x48, 0x0F, 0x38, 0xF1, 0x53, 0x08}, sse42},
      {"crc32 r10, byte [rbx+1]", {0xF2, 0x4C, 0x0F, 0x38, 0xF0, 0x53, 0x01}, sse42},
      // the full-fence idiom and its kin: a locked write of the unchanged value, flags of it
      {"lock or qword [rsp], 0", {0xF0, 0x48, 0x83, 0x0C, 0x24, 0x00}, true},
      {"lock and dword [rbx+4], -1", {0xF0, 0x83, 0x63, 0x04, 0xFF}, true},
      {"lock xor byte [rbx], 0", {0xF0, 0x80, 0x33, 0x00}, true},
      {"lock or word [rbx+2], 0", {0x66, 0xF0, 0x83, 0x4B, 0x02, 0x00}, true},
      {"lock and word [rbx], 0xffff", {0x66, 0xF0, 0x83, 0x23, 0xFF}, true},
      {"lock or dword [rbx], 1 (not an identity: the interpreter's)", {0xF0, 0x83, 0x0B, 0x01}, false},
  };
}

TEST(JitIsaGpr, TranslatedAndSameAsInterpreter) {
  for (const Case& c : cases()) {
    for (uint64_t seed = 1; seed <= 32; ++seed) {
      SCOPED_TRACE(testing::Message() << c.name << ", seed " << seed);
      Pair p;
      p.run(cat({c.bytes, kSyscall}), random_state(seed));
      ASSERT_EQ(p.jit.r, StopReason::Syscall);
      if (c.host_feature) EXPECT_EQ(p.jit_fallbacks, 0u);
      p.expect_same();
    }
  }
}

// Go's math/big inner loop shape: mulx, then the two chains interleaved, each carry living in
// its own flag across the other's add, in a block that loops in place (dec's flags between
// iterations: OF written, CF kept).
TEST(JitIsaGpr, InterleavedCarryChainsInALoopMatchInterpreter) {
  const Code loop = {
      0x66, 0x4C, 0x0F, 0x38, 0xF6, 0xC0,  // adcx r8, rax
      0xF3, 0x4C, 0x0F, 0x38, 0xF6, 0xC9,  // adox r9, rcx
      0xC4, 0xC2, 0xF3, 0xF6, 0xC1,        // mulx rax, rcx, r9
      0xF2, 0x4C, 0x0F, 0x38, 0xF1, 0xD1,  // crc32 r10, rcx
      0xC4, 0x42, 0xAB, 0xF5, 0xD8,        // pdep r11, r10, r8
      0xFF, 0xCF,                          // dec edi
      0x75, 0xE0,                          // jnz (to the adcx)
      0x0F, 0x90, 0xC2,                    // seto dl
      0x40, 0x0F, 0x92, 0xC6,              // setb sil
  };
  for (uint64_t seed = 1; seed <= 16; ++seed) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    CpuState s = random_state(seed);
    s.gpr[RDI] = 41;
    Pair p;
    p.run(cat({loop, kSyscall}), s);
    ASSERT_EQ(p.jit.r, StopReason::Syscall);
    if (CPU_FEATURE_ACTIVE(BMI2) && CPU_FEATURE_ACTIVE(SSE4_2)) EXPECT_EQ(p.jit_fallbacks, 0u);
    p.expect_same();
  }
}

// A memory source that runs into an unmapped page: #PF at the instruction, with the state of
// the instructions before it intact and the flags not yet written.
TEST(JitIsaGpr, MemoryOperandFaultsMatchInterpreter) {
  const Code prefix = {0x48, 0x83, 0xC1, 0x05};  // add rcx, 5 (pending state and flags at the fault)
  const Code forms[] = {
      {0x66, 0x48, 0x0F, 0x38, 0xF6, 0x43, 0x08},  // adcx rax, [rbx+8]
      {0xF3, 0x4C, 0x0F, 0x38, 0xF6, 0x5B, 0x10},  // adox r11, [rbx+16]
      {0xC4, 0xE2, 0xCA, 0xF5, 0x13},              // pext rdx, rsi, [rbx]
      {0xF2, 0x48, 0x0F, 0x38, 0xF1, 0x53, 0x08},  // crc32 rdx, [rbx+8]
      {0xF0, 0x48, 0x83, 0x0B, 0x00},              // lock or qword [rbx], 0
  };
  for (const Code& f : forms) {
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      SCOPED_TRACE(testing::Message() << "form " << (&f - forms) << ", seed " << seed);
      CpuState s = random_state(seed);
      s.gpr[RBX] = kData + 0x10000 - 4;  // [rbx] crosses into the unmapped page, [rbx+8] is in it
      Pair p;
      p.run(cat({prefix, f, kSyscall}), s);
      EXPECT_NE(p.ref.r, StopReason::Syscall);
      p.expect_same();
    }
  }
}

}  // namespace
}  // namespace vireo::test
