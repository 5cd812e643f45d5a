// movsx/movsxd from memory (backend/x64/emitter.cpp, the Load case): the IR's load and the
// sign extension right after it are one host movsx/movsxd from guest memory. Against the
// interpreter: each size into 32- and 64-bit destinations, values with the sign bit set and
// clear, the loaded value read again (then the load keeps its own register), folded and
// constant addresses, and an access that faults with the state before it pending.
#include "jit_harness.h"

namespace vireo::test {
namespace {

using Code = std::vector<uint8_t>;

std::vector<IsaCase> cases() {
  return {
      {"movsx rax, byte [rbx+3]", {0x48, 0x0F, 0xBE, 0x43, 0x03}, true},
      {"movsx rax, byte [rbx+0x90]", {0x48, 0x0F, 0xBE, 0x83, 0x90, 0x00, 0x00, 0x00}, true},
      {"movsx ecx, byte [rbx]", {0x0F, 0xBE, 0x0B}, true},
      {"movsx r9, word [rbx+6]", {0x4C, 0x0F, 0xBF, 0x4B, 0x06}, true},
      {"movsx dx, byte [rbx+0x81]", {0x66, 0x0F, 0xBE, 0x93, 0x81, 0x00, 0x00, 0x00}, true},
      {"movsxd rsi, dword [rbx+0x7c]", {0x48, 0x63, 0x73, 0x7C}, true},
      {"movsxd r12, dword [rbx]", {0x4C, 0x63, 0x23}, true},
      {"movsx rax, byte [abs]", {0x48, 0x0F, 0xBE, 0x04, 0x25, 0xF0, 0x00, 0x02, 0x00}, true},
      {"movsx rax, byte [rbx+3]; add rax, [rbx+3] (the byte read again by another load)",
       {0x48, 0x0F, 0xBE, 0x43, 0x03, 0x48, 0x03, 0x43, 0x03}, true},
      {"movsx rax, byte [rbx+3]; movzx ecx, al; add rcx, rax",
       {0x48, 0x0F, 0xBE, 0x43, 0x03, 0x0F, 0xB6, 0xC8, 0x48, 0x01, 0xC1}, true},
  };
}

TEST(JitSignExtendingLoads, TranslatedAndSameAsInterpreter) { expect_cases_match_interpreter(cases(), 16, random_state); }

// The access faults: the add before it is pending (rcx and its flags), the destination keeps
// its old value.
TEST(JitSignExtendingLoads, FaultsMatchInterpreter) {
  const Code prefix = {0x48, 0x83, 0xC1, 0x05};  // add rcx, 5
  const Code forms[] = {
      {0x48, 0x0F, 0xBE, 0x43, 0x08},  // movsx rax, byte [rbx+8]
      {0x4C, 0x0F, 0xBF, 0x4B, 0x06},  // movsx r9, word [rbx+6]
      {0x48, 0x63, 0x73, 0x05},        // movsxd rsi, dword [rbx+5]
  };
  for (const Code& f : forms) {
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      SCOPED_TRACE(testing::Message() << "form " << (&f - forms) << ", seed " << seed);
      CpuState s = random_state(seed);
      s.gpr[RBX] = kData + 0x10000 - 2;  // each access crosses into (or starts in) the unmapped page
      Pair p;
      p.run(cat({prefix, f, kSyscall}), s);
      EXPECT_EQ(p.ref.r, StopReason::Fault);
      p.expect_same();
    }
  }
}

}  // namespace
}  // namespace vireo::test
