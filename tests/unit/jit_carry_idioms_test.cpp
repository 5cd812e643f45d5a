// `sbb r, r` and `adc/sbb x, 0` (frontend/alu.cpp): translated as 0 - CF, x + CF and x - CF
// with the flags of the plain add or sub (a recipe, no pushfq). Against the interpreter: the
// carry-in from the start state's flags or from the instruction before, each size, register
// and memory forms, the flags read after (setcc, a branch), written back at the block's end,
// and live at a later access that faults.
#include "jit_harness.h"

namespace vireo::test {
namespace {

using Code = std::vector<uint8_t>;

std::vector<IsaCase> cases() {
  const Code cmp_ecx_edx = {0x39, 0xD1};   // cmp ecx, edx (CF: ecx < edx)
  const Code neg_cx = {0x66, 0xF7, 0xD9};  // neg cx (CF: cx != 0)
  const Code stc = {0xF9}, clc = {0xF8};
  const Code setb_dl = {0x0F, 0x92, 0xC2}, seto_dh = {0x0F, 0x90, 0xC6};
  const Code sete_al = {0x0F, 0x94, 0xC0}, setp_ah = {0x0F, 0x9A, 0xC4};
  return {
      {"sbb esi, esi", {0x19, 0xF6}, true},
      {"sbb sil, sil", {0x40, 0x18, 0xF6}, true},
      {"sbb ah, ah", {0x18, 0xE4}, true},
      {"sbb ax, ax", {0x66, 0x19, 0xC0}, true},
      {"sbb rax, rax", {0x48, 0x19, 0xC0}, true},
      {"cmp; sbb eax, eax", cat({cmp_ecx_edx, {0x19, 0xC0}}), true},
      {"stc; sbb r9, r9", cat({stc, {0x4D, 0x19, 0xC9}}), true},
      {"clc; sbb r9d, r9d", cat({clc, {0x45, 0x19, 0xC9}}), true},
      {"neg cx; sbb sil, sil; or sil, [rbx+8]", cat({neg_cx, {0x40, 0x18, 0xF6, 0x40, 0x0A, 0x73, 0x08}}), true},
      {"sbb esi, esi; setcc", cat({{0x19, 0xF6}, setb_dl, seto_dh, sete_al, setp_ah}), true},
      {"adc ecx, 0", {0x83, 0xD1, 0x00}, true},
      {"adc rcx, 0", {0x48, 0x83, 0xD1, 0x00}, true},
      {"adc cl, 0", {0x80, 0xD1, 0x00}, true},
      {"sbb eax, 0", {0x83, 0xD8, 0x00}, true},
      {"sbb ax, 0", {0x66, 0x83, 0xD8, 0x00}, true},
      {"sbb rdx, 0", {0x48, 0x83, 0xDA, 0x00}, true},
      {"cmp; sbb eax, 0; setcc", cat({cmp_ecx_edx, {0x83, 0xD8, 0x00}, setb_dl, seto_dh, sete_al, setp_ah}), true},
      {"cmp; adc edx, 0; setcc", cat({cmp_ecx_edx, {0x83, 0xD2, 0x00}, setb_dl, seto_dh, sete_al, setp_ah}), true},
      {"stc; adc rax, 0 (rax = -1 in some seeds)", cat({stc, {0x48, 0x83, 0xD0, 0x00}}), true},
      {"adc qword [rbx], 0", {0x48, 0x83, 0x13, 0x00}, true},
      {"sbb dword [rbx+4], 0", {0x83, 0x5B, 0x04, 0x00}, true},
      {"sbb byte [rbx+1], 0", {0x80, 0x5B, 0x01, 0x00}, true},
      {"cmp; sbb eax, 0; jb", cat({cmp_ecx_edx, {0x83, 0xD8, 0x00, 0x72, 0x02, 0x31, 0xC9}}), true},
  };
}

// Random states, and states at the edges: the operand at its size's maximum, the minimum, 0,
// 1, the sign boundary, so that the carry-in makes each flag flip.
CpuState edge_state(uint64_t seed) {
  CpuState s = random_state(seed);
  const uint64_t edges[] = {0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFF'FFFF, 0xFFFF'FFFF, ~uint64_t(0),
                            0x8000'0000'0000'0000, 0x7FFF'FFFF'FFFF'FFFF, 0xF, 0x10};
  if (seed % 2 == 0) {
    for (int r : {RAX, RCX, RDX, RSI, R9}) s.gpr[r] = edges[(seed / 2 + r) % std::size(edges)];
  }
  return s;
}

TEST(JitCarryIdioms, TranslatedAndSameAsInterpreter) { expect_cases_match_interpreter(cases(), 48, edge_state); }

// The flags of the sbb live at a load that faults (python's dispatch: the or's memory source
// after the sbb): the fault's state has them as the interpreter's.
TEST(JitCarryIdioms, FlagsLiveAtAFaultingAccessMatchInterpreter) {
  const Code forms[] = {
      {0x66, 0xF7, 0xD9, 0x40, 0x18, 0xF6, 0x48, 0x8B, 0x43, 0x08},  // neg cx; sbb sil, sil; mov rax, [rbx+8]
      {0x39, 0xD1, 0x83, 0xD8, 0x00, 0x48, 0x8B, 0x43, 0x08},        // cmp ecx, edx; sbb eax, 0; mov rax, [rbx+8]
      {0x39, 0xD1, 0x83, 0xD2, 0x00, 0x48, 0x8B, 0x43, 0x08},        // cmp ecx, edx; adc edx, 0; mov rax, [rbx+8]
  };
  for (const Code& f : forms) {
    for (uint64_t seed = 1; seed <= 8; ++seed) {
      SCOPED_TRACE(testing::Message() << "form " << (&f - forms) << ", seed " << seed);
      CpuState s = edge_state(seed);
      s.gpr[RBX] = kData + 0x10000 - 4;  // [rbx+8] is in the unmapped page
      Pair p;
      p.run(cat({f, kSyscall}), s);
      EXPECT_EQ(p.ref.r, StopReason::Fault);
      p.expect_same();
    }
  }
}

}  // namespace
}  // namespace vireo::test
