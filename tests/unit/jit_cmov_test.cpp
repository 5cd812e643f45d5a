// cmovcc on lazy flags (backend/x64/emitter.cpp, the Select case): a Select whose condition is
// read by it alone re-runs the flags' operation and is one host cmovcc, instead of a setcc,
// a movzx and a test of the 0/1 value. Against the interpreter: all sixteen conditions, after
// each kind of recomputable flags (sub, add, logic, inc, dec, a shift, imul), 16/32/64-bit and
// memory sources, the flags also read after the cmov (setcc, a branch, adc: materialized),
// cmovs in a loop in place, and a faulting access after the cmov with its flags pending.
#include "jit_harness.h"

#include <deque>
#include <string>

namespace vireo::test {
namespace {

using Code = std::vector<uint8_t>;

// cmovcc rax, rsi (REX.W 0F 40+cc /r)
Code cmov_rax_rsi(uint8_t cc) { return {0x48, 0x0F, uint8_t(0x40 + cc), 0xC6}; }

std::vector<IsaCase> cases() {
  const Code cmp = {0x48, 0x39, 0xD1};         // cmp rcx, rdx
  const Code cmp32 = {0x39, 0xD1};             // cmp ecx, edx
  const Code cmp8 = {0x38, 0xD1};              // cmp cl, dl
  const Code add = {0x48, 0x01, 0xD1};         // add rcx, rdx
  const Code test = {0x85, 0xC9};              // test ecx, ecx
  const Code inc = {0xFF, 0xC1};               // inc ecx
  const Code dec = {0x48, 0xFF, 0xC9};         // dec rcx
  const Code shl = {0x48, 0xC1, 0xE1, 0x03};   // shl rcx, 3
  const Code imul = {0x48, 0x0F, 0xAF, 0xCA};  // imul rcx, rdx
  const Code setb_dl = {0x0F, 0x92, 0xC2}, seto_dh = {0x0F, 0x90, 0xC6}, setp_ah = {0x0F, 0x9A, 0xC4};
  std::vector<IsaCase> v;
  static std::deque<std::string> names;  // (IsaCase keeps a const char*)
  for (uint8_t cc = 0; cc < 16; ++cc) {
    names.push_back("cmp rcx, rdx; cmovcc rax, rsi, cc " + std::to_string(cc));
    v.push_back({names.back().c_str(), cat({cmp, cmov_rax_rsi(cc)}), true});
    names.push_back("cmp cl, dl; cmovcc rax, rsi; setcc, cc " + std::to_string(cc));
    v.push_back({names.back().c_str(), cat({cmp8, cmov_rax_rsi(cc), setb_dl, seto_dh, setp_ah}), true});
  }
  for (uint8_t cc : {0, 2, 4, 6, 8, 10, 12, 14, 15}) {
    names.push_back("add/test/inc/dec/shl/imul; cmovcc, cc " + std::to_string(cc));
    Code c;
    for (const Code& op : {add, test, inc, dec, shl, imul}) c = cat({c, op, cmov_rax_rsi(cc), {0x48, 0x31, 0xC7}});  // xor rdi, rax
    v.push_back({names.back().c_str(), c, true});
  }
  v.insert(v.end(), {
      {"cmp; cmovl eax, esi (zero-extends either way)", cat({cmp32, {0x0F, 0x4C, 0xC6}}), true},
      {"cmp; cmovbe ax, si", cat({cmp32, {0x66, 0x0F, 0x46, 0xC6}}), true},
      {"cmp; cmovnle r9, [rbx+8]", cat({cmp, {0x4C, 0x0F, 0x4F, 0x4B, 0x08}}), true},
      {"cmp; cmovs rdx, rcx (the flags' own operand)", cat({cmp, {0x48, 0x0F, 0x48, 0xD1}}), true},
      {"cmp; cmovz rcx, rdx (both operands of the flags)", cat({cmp, {0x48, 0x0F, 0x44, 0xCA}}), true},
      {"cmp; cmovb rax, rax", cat({cmp, {0x48, 0x0F, 0x42, 0xC0}}), true},
      {"cmp; cmovb rax, rsi; adc rdi, rdx (flags materialized after)",
       cat({cmp, cmov_rax_rsi(2), {0x48, 0x11, 0xD7}}), true},
      {"cmp; cmovl rax, rsi; cmovnl rdi, rsi", cat({cmp, cmov_rax_rsi(12), {0x48, 0x0F, 0x4D, 0xFE}}), true},
      {"cmp; cmovb; jb (branch on the same flags)", cat({cmp, cmov_rax_rsi(2), {0x72, 0x03, 0x48, 0x31, 0xC0}}), true},
      // lua's `(x ^ y) < 0` select: lea rax, [rdx+rsi]; xor rsi, rdx; cmovs rdx, rax
      {"lea; xor; cmovs", {0x48, 0x8D, 0x04, 0x32, 0x48, 0x31, 0xD6, 0x48, 0x0F, 0x48, 0xD0}, true},
  });
  return v;
}

CpuState edge_state(uint64_t seed) {
  CpuState s = random_state(seed);
  const uint64_t edges[] = {0, 1, 0x7F, 0x80, 0xFF, 0x7FFF'FFFF, 0x8000'0000, 0xFFFF'FFFF, ~uint64_t(0),
                            0x8000'0000'0000'0000, 0x7FFF'FFFF'FFFF'FFFF};
  if (seed % 3 == 0) s.gpr[RDX] = s.gpr[RCX];  // equal operands: ZF
  else if (seed % 3 == 1) {
    s.gpr[RCX] = edges[(seed / 3) % std::size(edges)];
    s.gpr[RDX] = edges[(seed / 3 + 3) % std::size(edges)];
  }
  return s;
}

TEST(JitCmov, TranslatedAndSameAsInterpreter) { expect_cases_match_interpreter(cases(), 24, edge_state); }

// A loop in place whose body selects on the flags of a compare of loop registers:
//   l: cmp rcx, rdx; cmovb rax, rcx; add rdi, rax; inc rcx; dec r8; jnz l
TEST(JitCmov, InALoopInPlaceMatchesInterpreter) {
  const Code loop = {0x48, 0x39, 0xD1, 0x48, 0x0F, 0x42, 0xC1, 0x48, 0x01, 0xC7,
                     0x48, 0xFF, 0xC1, 0x49, 0xFF, 0xC8, 0x75, 0xEE};
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    CpuState s = random_state(seed);
    s.gpr[R8] = 1 + seed * 7;
    s.gpr[RCX] = seed;
    s.gpr[RDX] = 20;
    Pair p;
    p.run(cat({loop, kSyscall}), s, jit::JitOptions{});
    ASSERT_EQ(p.jit.r, StopReason::Syscall);
    p.expect_same();
  }
}

// The access after the cmov faults: the cmov's result and the compare's flags are pending.
TEST(JitCmov, FlagsAndResultPendingAtAFaultMatchInterpreter) {
  const Code form = {0x48, 0x39, 0xD1, 0x48, 0x0F, 0x4C, 0xC6, 0x48, 0x8B, 0x7B, 0x08};  // cmp; cmovl rax, rsi; mov rdi, [rbx+8]
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    CpuState s = edge_state(seed);
    s.gpr[RBX] = kData + 0x10000 - 4;  // [rbx+8] is in the unmapped page
    Pair p;
    p.run(cat({form, kSyscall}), s);
    EXPECT_EQ(p.ref.r, StopReason::Fault);
    p.expect_same();
  }
}

// The cmov is one host cmovcc after the compare re-run: its block is at most a few bytes
// longer than the same block with a plain mov (it was a setcc, movzx, test and two more movs).
TEST(JitCmov, IsAHostCmovOnTheRerunFlags) {
  auto host_bytes = [](const Code& code) {
    Machine m;
    m.load(cat({code, kSyscall}));
    m.cpu = random_state(3);
    m.cpu.rip = kCode;
    jit::JitEngine e(m.as.memory(), {});  // (translates at the first entry)
    EXPECT_EQ(e.run(m.cpu), StopReason::Syscall);
    return e.stats().host_bytes;
  };
  const Code cmp = {0x48, 0x39, 0xD1};
  const uint64_t with_mov = host_bytes(cat({cmp, {0x48, 0x89, 0xF0}}));  // mov rax, rsi
  const uint64_t with_cmov = host_bytes(cat({cmp, cmov_rax_rsi(2)}));   // cmovb rax, rsi
  // The cmov's block also loads rax's old value (4 bytes) and re-runs the compare (3), then
  // `mov rax, rsi; cmovb rax, rsi`-shaped (7): 14 bytes more. A setcc lowering adds a setcc,
  // a movzx, a copy to r11, a test and a move back (about 14 more).
  EXPECT_LE(with_cmov, with_mov + 18) << "with a plain mov: " << with_mov;
}

}  // namespace
}  // namespace vireo::test
