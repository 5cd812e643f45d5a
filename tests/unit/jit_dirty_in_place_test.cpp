// A result computed in the register of a guest register's dirty value (backend/x64/emitter.cpp,
// alloc_result): when that guest register is written again before anything can look at it
// (only pure computations between), its old value's register takes the result in place, with
// no copy (lua's dispatch: `movzx ebx, bl; mov rax, [r14+rax*8]; shl rbx, 4; add rbx, r10`).
// Against the interpreter: the rewrite right after, after other pure work, with a read of the
// register, an access or a flags read between (where the copy must stay), and faults at the
// next access with the register's final value pending.
#include "jit_harness.h"

namespace vireo::test {
namespace {

using Code = std::vector<uint8_t>;

const Code kMovzxEbxBl = {0x0F, 0xB6, 0xDB};     // movzx ebx, bl
const Code kShlRbx4 = {0x48, 0xC1, 0xE3, 0x04};  // shl rbx, 4
const Code kAddRbxR10 = {0x4C, 0x01, 0xD3};      // add rbx, r10

std::vector<IsaCase> cases() {
  return {
      {"movzx; shl; add (lua's dispatch)", cat({kMovzxEbxBl, kShlRbx4, kAddRbxR10}), true},
      {"movzx; load; shl; add", cat({kMovzxEbxBl, {0x48, 0x8B, 0x44, 0x24, 0x08}, kShlRbx4, kAddRbxR10}), true},
      {"movzx; shl; xor rcx, rdx; add", cat({kMovzxEbxBl, kShlRbx4, {0x48, 0x31, 0xD1}, kAddRbxR10}), true},
      {"movzx; shl; mov rcx, rbx; add (a read between)", cat({kMovzxEbxBl, kShlRbx4, {0x48, 0x89, 0xD9}, kAddRbxR10}), true},
      {"movzx; shl; mov rax, [rsp]; add (an access between)",
       cat({kMovzxEbxBl, kShlRbx4, {0x48, 0x8B, 0x04, 0x24}, kAddRbxR10}), true},
      {"movzx; shl; pushfq-free setc cl; add (flags read between)", cat({kMovzxEbxBl, kShlRbx4, {0x0F, 0x92, 0xC1}, kAddRbxR10}), true},
      {"mov rcx, rbx; not rbx; neg rbx; add (two guest registers share the value)",
       cat({{0x48, 0x89, 0xD9, 0x48, 0xF7, 0xD3}, {0x48, 0xF7, 0xDB}, kAddRbxR10}), true},
      {"lea esi, [rdi+1]; imul esi, esi, 3; sub esi, edx", {0x8D, 0x77, 0x01, 0x6B, 0xF6, 0x03, 0x29, 0xD6}, true},
  };
}

TEST(JitDirtyInPlace, TranslatedAndSameAsInterpreter) { expect_cases_match_interpreter(cases(), 24, random_state); }

// The access after the rewrite faults: rbx's final value (and the add's flags) are pending.
TEST(JitDirtyInPlace, FaultAfterTheRewriteMatchesInterpreter) {
  const Code form = cat({kMovzxEbxBl, kShlRbx4, kAddRbxR10, {0x48, 0x8B, 0x04, 0x1E}});  // mov rax, [rsi+rbx]
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    CpuState s = random_state(seed);
    s.gpr[R10] = 0;
    s.gpr[RSI] = kData + 0x10000;  // the unmapped page after the data
    Pair p;
    p.run(cat({form, kSyscall}), s);
    EXPECT_EQ(p.ref.r, StopReason::Fault);
    p.expect_same();
  }
}

}  // namespace
}  // namespace vireo::test
