// The JIT against the interpreter (the semantic reference): same code, same start state, same
// final state. Also the JIT's own machinery: chaining, the jump cache, cache flushes, precise
// faults and exit requests.
#include <gtest/gtest.h>

#include <atomic>
#include <sys/mman.h>

#include <thread>

#include "jit_harness.h"

namespace vireo::test {
namespace {

TEST(Jit, StraightLineAluMatchesInterpreter) {
  // add rax,rcx; sub rdx,rax; and rsi,rdi; or r8,r9; xor r10d,r11d; cmp rax,rdx; inc r12;
  // dec r13w; neg r14b; not r15; add al,ah; lea rbp,[rax+rcx*4+0x10]; mov [rbx],rax;
  // add [rbx+8],rdx; movzx eax,byte [rbx+3]; movsx rcx,word [rbx+5]; test rax,rax; syscall
  std::vector<uint8_t> code = cat({
      {0x48, 0x01, 0xC8}, {0x48, 0x29, 0xC2}, {0x48, 0x21, 0xFE}, {0x4D, 0x09, 0xC8},
      {0x45, 0x31, 0xDA}, {0x48, 0x39, 0xD0}, {0x49, 0xFF, 0xC4}, {0x66, 0x41, 0xFF, 0xCD},
      {0x41, 0xF6, 0xDE}, {0x49, 0xF7, 0xD7}, {0x00, 0xE0}, {0x48, 0x8D, 0x6C, 0x88, 0x10},
      {0x48, 0x89, 0x03}, {0x48, 0x01, 0x53, 0x08}, {0x0F, 0xB6, 0x43, 0x03},
      {0x48, 0x0F, 0xBF, 0x4B, 0x05}, {0x48, 0x85, 0xC0}, kSyscall});
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    Pair p;
    p.run(code, random_state(seed));
    ASSERT_EQ(p.jit.r, StopReason::Syscall);
    p.expect_same();
  }
}

TEST(Jit, ThirtyTwoBitFormsImmediatesAndLeaMatchInterpreter) {
  // The zero-extension pass and the backend's 32-bit, immediate and lea forms, on registers
  // whose upper halves are random:
  // mov ecx,esi; ror ecx,6; xor ecx,edx; add ecx,[rbx+8]; lea eax,[rcx+rdx*4+7];
  // imul r8d,r9d; not r10d; neg r11d; sub edi,0x80000000; and r12d,-16; or r13d,ecx;
  // movsxd r14,ecx; add r15,rcx; sub edx,eax; lea rbp,[rax+rdi*8-0x1000];
  // imul esi,edx,100000; mov dword [rbx+16],0xdeadbeef; mov word [rbx+20],0xfffe;
  // mov qword [rbx+24],-5; mov byte [rbx+30],200; mov r9d,7; cmp ax,0xff80; syscall
  std::vector<uint8_t> code = cat({
      {0x89, 0xF1}, {0xC1, 0xC9, 0x06}, {0x31, 0xD1}, {0x03, 0x4B, 0x08}, {0x8D, 0x44, 0x91, 0x07},
      {0x45, 0x0F, 0xAF, 0xC1}, {0x41, 0xF7, 0xD2}, {0x41, 0xF7, 0xDB},
      {0x81, 0xEF, 0x00, 0x00, 0x00, 0x80}, {0x41, 0x83, 0xE4, 0xF0}, {0x41, 0x09, 0xCD},
      {0x4C, 0x63, 0xF1}, {0x49, 0x01, 0xCF}, {0x29, 0xC2}, {0x48, 0x8D, 0xAC, 0xF8, 0x00, 0xF0, 0xFF, 0xFF},
      {0x69, 0xF2, 0xA0, 0x86, 0x01, 0x00}, {0xC7, 0x43, 0x10, 0xEF, 0xBE, 0xAD, 0xDE},
      {0x66, 0xC7, 0x43, 0x14, 0xFE, 0xFF}, {0x48, 0xC7, 0x43, 0x18, 0xFB, 0xFF, 0xFF, 0xFF},
      {0xC6, 0x43, 0x1E, 0xC8}, {0x41, 0xB9, 0x07, 0x00, 0x00, 0x00}, {0x66, 0x83, 0xF8, 0x80}, kSyscall});
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    Pair p;
    p.run(code, random_state(seed));
    ASSERT_EQ(p.jit.r, StopReason::Syscall);
    p.expect_same();
  }
}

TEST(Jit, FlagsOperandsSharedByTwoUncomputedFlagsStayAlive) {
  // and edi,0xE5676EF1 (flags live: the load below may fault); mov ecx,[rbx+8];
  // add edi,0xCFDF4CED (its flags replace and's, both computed from the same edi);
  // adc spl,0x20 (a new register, then the add's carry); syscall. Replacing the flags must
  // not free edi's register before the add's flags are computed (difftest seed 3, case 887).
  std::vector<uint8_t> code = cat({{0x81, 0xE7, 0xF1, 0x6E, 0x67, 0xE5}, {0x8B, 0x4B, 0x08},
                                   {0x81, 0xC7, 0xED, 0x4C, 0xDF, 0xCF}, {0x40, 0x80, 0xD4, 0x20}, kSyscall});
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    CpuState s = random_state(seed);
    s.gpr[RDI] = 0xa4a03047 + seed;
    Pair p;
    p.run(code, s);
    p.expect_same();
  }
}

TEST(Jit, FlagsConsumedLaterAndPartialWrites) {
  // cmp eax,ecx; mov edx,5 (no flags); setb dl; cmovz esi,edi; inc r8 (keeps CF); adc r9,r10
  // (fallback reads CF from inc's merge); sete ah; syscall
  std::vector<uint8_t> code = cat({{0x39, 0xC8}, {0xBA, 0x05, 0x00, 0x00, 0x00}, {0x0F, 0x92, 0xC2},
                                   {0x0F, 0x44, 0xF7}, {0x49, 0xFF, 0xC0}, {0x4D, 0x11, 0xD1},
                                   {0x0F, 0x94, 0xC4}, kSyscall});
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    CpuState s = random_state(seed);
    if (seed % 3 == 0) s.gpr[RCX] = s.gpr[RAX];  // equal operands: ZF paths
    Pair p;
    p.run(code, s);
    p.expect_same();
  }
}

TEST(Jit, FlagsLeftLazyAtABlockExitReachTheNextBlock) {
  // A block ending in a flag operation leaves its flags uncomputed in CpuState (call +0 or
  // jz +0 to the next block; a jmp +0 is followed, the same block goes on); the next block
  // reads them in each way there is, or faults.
  const std::vector<std::vector<uint8_t>> producers = {
      {0x38, 0xC8},                          // cmp al, cl
      {0x66, 0x01, 0xD1},                    // add cx, dx
      {0x39, 0xC8},                          // cmp eax, ecx
      {0x48, 0x83, 0xE8, 0x7F},              // sub rax, 0x7f
      {0x48, 0x3D, 0x00, 0x00, 0x00, 0x80},  // cmp rax, -0x80000000
      {0x85, 0xC8},                          // test eax, ecx
      {0x48, 0x85, 0xC9},                    // test rcx, rcx
      {0x81, 0xE2, 0x78, 0x56, 0x34, 0x92},  // and edx, 0x92345678
      // inc/dec leave CpuState's second layer (all but CF) over the first (CF):
      {0x39, 0xC8, 0x41, 0xFF, 0xC8},        // cmp eax, ecx; dec r8d (CF from the cmp)
      {0x41, 0xFE, 0xC0},                    // inc r8b (CF from an earlier block or rflags)
      {0x48, 0x01, 0xC8, 0x66, 0x41, 0xFF, 0xC0, 0x49, 0xFF, 0xC8},  // add rax, rcx; inc r8w; dec r8
      // Flags computed in the block, left as a value (kLazyFlagsValue, or CF|OF / CF alone in
      // the second layer, over the flags an earlier block left):
      {0x0F, 0xAF, 0xC1},                    // imul eax, ecx (CF, OF)
      {0x66, 0x44, 0x0F, 0xAF, 0xC1},        // imul r8w, cx
      {0x48, 0x6B, 0xD0, 0x71},              // imul rdx, rax, 0x71
      {0x39, 0xC8, 0x0F, 0xAF, 0xD1},        // cmp eax, ecx; imul edx, ecx (the cmp's SF..PF stay)
      {0xF7, 0xE1},                          // mul ecx (CF, OF)
      {0x83, 0xE1, 0x21, 0xD3, 0xE2},        // and ecx, 0x21; shl edx, cl (counts 0, 1, 32 = 0, 33 = 1)
      {0x83, 0xE1, 0x61, 0x48, 0xD3, 0xFA},  // and ecx, 0x61; sar rdx, cl (counts 0, 1, 32, 33, 64, 65)
      {0x41, 0xD3, 0xE8},                    // shr r8d, cl (random count)
      {0x83, 0xE1, 0x21, 0xD3, 0xC2},        // and ecx, 0x21; rol edx, cl (CF, OF; count 0 keeps them)
      {0x41, 0xD2, 0xC8},                    // ror r8b, cl
      {0xD1, 0xC2},                          // rol edx, 1
      // Shifts by an immediate: a recipe (the host's shift) in the first layer, lazy_flags_b
      // the count; a fault re-runs it in C++ (FlagsRecipe::eval):
      {0xC1, 0xE2, 0x05},                    // shl edx, 5
      {0x66, 0x41, 0xD1, 0xF8},              // sar r8w, 1
      {0xC0, 0xE8, 0x07},                    // shr al, 7
      {0x48, 0xC1, 0xE2, 0x3F},              // shl rdx, 63
      {0xC1, 0xEA, 0x03, 0x41, 0xFF, 0xC8},  // shr edx, 3; dec r8d (the shift's CF under the dec)
      {0xC1, 0xE2, 0x03, 0x4C, 0x8B, 0x17},  // shl edx, 3; mov r10, [rdi] (its flags at the fault)
      {0xC1, 0xC2, 0x03, 0x4C, 0x8B, 0x17},  // rol edx, 3; mov r10, [rdi]
      {0xD3, 0xD2},                          // rcl edx, cl
      {0x0F, 0xA3, 0xFE},                    // bt esi, edi (CF)
      {0x48, 0x0F, 0xBB, 0xFE},              // btc rsi, rdi
      {0x39, 0xC8, 0x83, 0xD8, 0x00},        // cmp eax, ecx; sbb eax, 0 (qsort's comparison)
      {0x48, 0x11, 0xF2},                    // adc rdx, rsi (CF from an earlier block)
  };
  std::vector<std::vector<uint8_t>> consumers = {
      {},                          // (the dispatcher merges them at the syscall)
      {0x48, 0x11, 0xF7},          // adc rdi, rsi
      {0x49, 0xFF, 0xC0},          // inc r8 (keeps CF)
      {0x9C, 0x41, 0x59},          // pushfq; pop r9
      {0x4C, 0x8B, 0x17},          // mov r10, [rdi] (faults: rdi is unmapped below)
      {0x49, 0xFF, 0xC0, 0x4C, 0x8B, 0x17},  // inc r8; mov r10, [rdi]
      {0x48, 0x31, 0xC0},          // xor rax, rax (overwrites them all)
      // popcnt rdi, rsi (sets all six, computed at once); call +0; pushfq; pop r9
      {0xF3, 0x48, 0x0F, 0xB8, 0xFE, 0xE8, 0x00, 0x00, 0x00, 0x00, 0x9C, 0x41, 0x59},
      {0x49, 0xFF, 0xC8, 0xE8, 0x00, 0x00, 0x00, 0x00, 0x48, 0x11, 0xF7},  // dec r8; call +0; adc rdi, rsi
      {0x41, 0xFF, 0xC0, 0xE8, 0x00, 0x00, 0x00, 0x00, 0x4C, 0x8B, 0x17},  // inc r8d; call +0; mov r10, [rdi]
      {0x41, 0xFF, 0xC0, 0xE8, 0x00, 0x00, 0x00, 0x00, 0x9C, 0x41, 0x59},  // inc r8d; call +0; pushfq; pop r9
      {0x0F, 0xBA, 0xE6, 0x05, 0x49, 0xFF, 0xC0},        // bt esi, 5 (CF only); inc r8
      // imul r9d, r10d (CF, OF over the producer's); call +0; pushfq; pop r9
      {0x45, 0x0F, 0xAF, 0xCA, 0xE8, 0x00, 0x00, 0x00, 0x00, 0x9C, 0x41, 0x59},
      // bt esi, 3 (CF over the producer's); call +0; imul r9d, r10d; call +0; setl bl
      {0x0F, 0xBA, 0xE6, 0x03, 0xE8, 0x00, 0x00, 0x00, 0x00, 0x45, 0x0F, 0xAF, 0xCA,
       0xE8, 0x00, 0x00, 0x00, 0x00, 0x0F, 0x9C, 0xC3},
      // dec r8; call +0; imul r9d, r10d; call +0; jo +0; adc rdi, rsi
      {0x49, 0xFF, 0xC8, 0xE8, 0x00, 0x00, 0x00, 0x00, 0x45, 0x0F, 0xAF, 0xCA,
       0xE8, 0x00, 0x00, 0x00, 0x00, 0x70, 0x00, 0x48, 0x11, 0xF7},
      // imul r9d, r10d; jz +0 (side exit with the flags' value); mov r10, [rdi]
      {0x45, 0x0F, 0xAF, 0xCA, 0x74, 0x00, 0x4C, 0x8B, 0x17},
  };
  for (uint8_t cc = 0; cc < 16; ++cc) consumers.push_back({0x0F, uint8_t(0x90 + cc), 0xC3});  // setcc bl
  // Three rounds, so that the blocks run chained (the first round goes through the
  // dispatcher, which merges lazy flags itself). rdi ^= r13 after each round: the loads
  // fault in the second round, on an unmapped page (host fault) or past the guest window
  // (range check), or never.
  const std::vector<uint8_t> start = {0x41, 0xBC, 0x03, 0x00, 0x00, 0x00};  // mov r12d, 3
  const std::vector<uint8_t> step = {0x4C, 0x31, 0xEF,   // xor rdi, r13
                                     0x41, 0xFF, 0xCC};  // dec r12d
  for (const auto& prod : producers)
    for (const auto& cons : consumers)
      for (std::vector<uint8_t> jump : {std::vector<uint8_t>{0xE8, 0x00, 0x00, 0x00, 0x00},  // call +0
                                        std::vector<uint8_t>{0x74, 0x00},                    // jz +0
                                        std::vector<uint8_t>{0xEB, 0x00}})                   // (followed)
        for (uint64_t seed = 1; seed <= 6; ++seed) {
          std::vector<uint8_t> body = cat({prod, jump, cons, step});
          std::vector<uint8_t> loop = {0x75, uint8_t(-int(body.size() + 2))};  // jnz body
          std::vector<uint8_t> code = cat({start, body, loop, kSyscall});
          CpuState s = random_state(seed);
          if (seed % 2 == 0) s.gpr[RCX] = s.gpr[RAX];  // equal operands: ZF paths
          s.gpr[RDI] = kData + 0x1000;
          s.gpr[R13] = seed % 3 == 0 ? 0 : seed % 3 == 1 ? 0x10000 : uint64_t(1) << 47;
          Pair p;
          p.run(code, s);
          p.expect_same();
          EXPECT_EQ(p.jit.cpu.lazy_flags_op, 0) << "merged before the engine returns";
          EXPECT_EQ(p.jit.cpu.lazy_incdec_op, 0) << "merged before the engine returns";
        }
}

TEST(Jit, FlagsLeftLazyReachTheDispatcherAndAHostFault) {
  // The flags of the last operation reach C++ lazy: at the syscall (settle_lazy_flags merges
  // CpuState's codes: a shift recipe, a flags value, a CF|OF or CF value over an add's), or
  // at a host fault on an unmapped page (FlagsRecipe::eval of the sync record's recipe).
  const std::vector<std::vector<uint8_t>> ops = {
      {0xC1, 0xE2, 0x05}, {0x66, 0x41, 0xD1, 0xF8}, {0xC0, 0xE8, 0x07}, {0x48, 0xC1, 0xE2, 0x3F},  // shl edx,5; sar r8w,1; shr al,7; shl rdx,63
      {0x48, 0xC1, 0xFA, 0x21}, {0xC0, 0xE2, 0x03}, {0x66, 0xC1, 0xEA, 0x0F},  // sar rdx,33; shl dl,3; shr dx,15
      {0xC1, 0xC2, 0x03}, {0x48, 0xD1, 0xCA},           // rol edx,3; ror rdx,1
      {0x48, 0x01, 0xC8, 0x0F, 0xAF, 0xC1},             // add rax,rcx; imul eax,ecx
      {0x48, 0x01, 0xC8, 0x0F, 0xA3, 0xFE},             // add rax,rcx; bt esi,edi
      {0xD3, 0xE2}, {0x48, 0xD3, 0xC2},                 // shl edx,cl; rol rdx,cl
  };
  const std::vector<std::vector<uint8_t>> ends = {
      kSyscall,
      {0x4C, 0x8B, 0x17},  // mov r10, [rdi] (faults)
  };
  // Before each: nothing, or an earlier block's inc/dec layer in CpuState (settled first).
  const std::vector<std::vector<uint8_t>> befores = {
      {}, {0x41, 0xFF, 0xC8, 0xE8, 0x00, 0x00, 0x00, 0x00},  // dec r8d; call +0
      {0x41, 0xFF, 0xC8, 0x74, 0x00}};                      // dec r8d; jz +0
  // Between the op and the end: nothing (the flags are the sync record's at the fault), or
  // call +0 (the op's block leaves them as CpuState's lazy flags).
  const std::vector<std::vector<uint8_t>> mids = {{}, {0xE8, 0x00, 0x00, 0x00, 0x00}};
  for (const auto& before : befores)
    for (const auto& op : ops)
      for (const auto& mid : mids)
        for (const auto& end : ends)
          for (uint64_t seed = 1; seed <= 8; ++seed) {
            CpuState s = random_state(seed);
            s.gpr[RDI] = 0x70000;  // unmapped
            if (seed % 4 == 0) s.gpr[RCX] &= ~uint64_t(0x3F);  // count 0: flags unchanged
            Pair p;
            p.run(cat({before, op, mid, end}), s);
            p.expect_same();
          }
}

TEST(Jit, BranchOnEntryFlagsFromTwoDifferentPredecessors) {
  // A block that is only `jb` branches on the flags its predecessor left lazy in CpuState. It
  // is translated expecting the first predecessor's cmp (re-run from CpuState's operands);
  // later it is entered after a `test` instead and must fall back to the merged rflags:
  //   mov r12d,4; cmp eax,ecx; jmp L; back: test rdx,rdx; jmp L;
  //   (next page, so that the jmps are not followed) L: jb T; inc r8; T: add r9,r8;
  //   xor rdx,r10; dec r12d; jnz back; syscall
  std::vector<uint8_t> code = {0x41, 0xBC, 0x04, 0x00, 0x00, 0x00, 0x39, 0xC8, 0xE9, 0xF3, 0x0F,
                               0x00, 0x00, 0x48, 0x85, 0xD2, 0xE9, 0xEB, 0x0F, 0x00, 0x00};
  code.resize(0x1000);
  code.insert(code.end(), {0x72, 0x03, 0x49, 0xFF, 0xC0, 0x4D, 0x01, 0xC1, 0x4C, 0x31, 0xD2,
                           0x41, 0xFF, 0xCC, 0x0F, 0x85, 0xF9, 0xEF, 0xFF, 0xFF, 0x0F, 0x05});
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    CpuState s = random_state(seed);
    if (seed % 2) std::swap(s.gpr[RAX], s.gpr[RCX]);
    Pair p;
    p.run(code, s);
    p.expect_same();
  }
}

TEST(Jit, SideExitsOfASuperblockLeaveExactState) {
  // cmp eax,ecx; jb L1; add rdx,rsi; mov [rdi],rdx; test rdx,rdx; jns L2; inc r8; dec r9;
  // jz L1; add r10,r9; L1: xor r11,r8; syscall; L2: sub r12,rdx; syscall.
  // One block with three side exits (each jcc whose fall-through goes on); the store may fault
  // between them.
  std::vector<uint8_t> code = {0x39, 0xC8, 0x72, 0x16, 0x48, 0x01, 0xF2, 0x48, 0x89, 0x17, 0x48, 0x85,
                               0xD2, 0x79, 0x10, 0x49, 0xFF, 0xC0, 0x49, 0xFF, 0xC9, 0x74, 0x03, 0x4D,
                               0x01, 0xCA, 0x4D, 0x31, 0xC3, 0x0F, 0x05, 0x49, 0x29, 0xD4, 0x0F, 0x05};
  for (uint64_t seed = 1; seed <= 80; ++seed) {
    CpuState s = random_state(seed);
    if (seed % 5 == 0) s.gpr[R9] = 1;
    if (seed % 2) s.gpr[RSI] = uint64_t(0) - s.gpr[RDX] + seed;  // rdx + rsi small: jns taken
    s.gpr[RDI] = seed % 7 == 0 ? 0x3000 : kData + 0x80;
    Pair p;
    p.run(code, s);
    p.expect_same();
  }
  // No side exit taken: the whole path to the first syscall is one block.
  Machine m;
  m.load(code);
  m.cpu.gpr[RAX] = 5;
  m.cpu.gpr[RCX] = 3;
  m.cpu.gpr[RDX] = uint64_t(1) << 63;
  m.cpu.gpr[RSI] = 1;
  m.cpu.gpr[R9] = 7;
  m.cpu.gpr[RDI] = kData;
  jit::JitEngine jit(m.as.memory(), {});
  ASSERT_EQ(jit.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(m.cpu.rip, kCode + 31);
  EXPECT_EQ(jit.stats().blocks_translated, 1u);
}

TEST(Jit, EveryConditionCodeMatchesInterpreter) {
  // setcc al; jcc +2 (over `inc ecx`)... as a Branch terminal; then syscall.
  for (uint8_t cc = 0; cc < 16; ++cc) {
    std::vector<uint8_t> code = {0x0F, uint8_t(0x90 + cc), 0xC0,   // setcc al
                                 uint8_t(0x70 + cc), 0x02,         // jcc +2
                                 0xFF, 0xC1,                       // inc ecx
                                 0x0F, 0x05};
    for (uint64_t fl = 0; fl < 64; ++fl) {
      // All 64 combinations of CF, PF, AF, ZF, SF, OF.
      uint64_t bits[] = {flag::CF, flag::PF, flag::AF, flag::ZF, flag::SF, flag::OF};
      CpuState s = random_state(fl);
      s.rflags = flag::FIXED1;
      for (int k = 0; k < 6; ++k)
        if (fl & (1u << k)) s.rflags |= bits[k];
      Pair p;
      p.run(code, s);
      p.expect_same();
    }
  }
}

TEST(Jit, LoopsChainBlocksAndCallsUseTheJumpCache) {
  // mov ecx,1000; xor eax,eax; loop: add rax,rcx; call f; dec ecx; jnz loop; syscall;
  // f: add rax,1; ret
  std::vector<uint8_t> code = {0xB9, 0xE8, 0x03, 0x00, 0x00,  // mov ecx, 1000
                               0x31, 0xC0,                    // xor eax, eax
                               0x48, 0x01, 0xC8,              // loop: add rax, rcx
                               0xE8, 0x08, 0x00, 0x00, 0x00,  // call f (+8)
                               0xFF, 0xC9,                    // dec ecx
                               0x75, 0xF4,                    // jnz loop
                               0x0F, 0x05,                    // syscall
                               0x90, 0x90, 0x90,              // padding
                               0x48, 0x83, 0xC0, 0x01,        // f: add rax, 1
                               0xC3};                         // ret
  for (bool chain : {true, false})
    for (bool jc : {true, false}) {
      jit::JitOptions o;
      o.chain = chain;
      o.jump_cache = jc;
      o.follow_calls = false;  // (else f is translated into the loop's block: below)
      Machine m;
      m.load(code);
      jit::JitEngine jit(m.as.memory(), o);
      ASSERT_EQ(jit.run(m.cpu), StopReason::Syscall);
      EXPECT_EQ(m.cpu.gpr[RAX], 1000u * 1001u / 2u + 1000u);
      EXPECT_EQ(jit.stats().chains_patched > 0, chain);
      // With chaining and the jump cache, the dispatcher sees a handful of entries, not 3000.
      if (chain && jc) EXPECT_LT(jit.stats().block_entries, 50u);
      if (!chain && !jc) EXPECT_GT(jit.stats().block_entries, 2000u);
      // Each of the 1000 returns looks its target up: all hit but the first few (the
      // dispatcher fills the entry at a miss).
      const uint64_t hits = jit.stats().jump_cache_hits, misses = jit.stats().jump_cache_misses;
      if (jc) {
        EXPECT_EQ(hits + misses, 1000u);
        EXPECT_GE(hits, 990u);
      } else {
        EXPECT_EQ(hits + misses, 0u);
      }
    }
}

TEST(Jit, ALoopAroundAFollowedCallIsOneBlockLoopingInPlace) {
  // The loop above with calls followed (docs/jit.md, "Calls followed into their callee"): f's
  // code is in the loop's block and its return a compare with the continuation, so the loop
  // is one block looping in place: no chain, no jump-cache lookup.
  std::vector<uint8_t> code = {0xB9, 0xE8, 0x03, 0x00, 0x00, 0x31, 0xC0, 0x48, 0x01, 0xC8,
                               0xE8, 0x08, 0x00, 0x00, 0x00, 0xFF, 0xC9, 0x75, 0xF4, 0x0F,
                               0x05, 0x90, 0x90, 0x90, 0x48, 0x83, 0xC0, 0x01, 0xC3};
  Machine m;
  m.load(code);
  jit::JitEngine jit(m.as.memory(), jit::JitOptions{});
  ASSERT_EQ(jit.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(m.cpu.gpr[RAX], 1000u * 1001u / 2u + 1000u);
  EXPECT_EQ(jit.stats().jump_cache_hits + jit.stats().jump_cache_misses, 0u);
  EXPECT_GE(jit.stats().self_loop_blocks, 1u);
  EXPECT_LT(jit.stats().block_entries, 10u);
}

TEST(Jit, TinyCacheFlushesAndStaysCorrect) {
  // 300 distinct blocks: each `add rax, i; call next` (a call ends a block; a jmp would be
  // followed), then syscall.
  std::vector<uint8_t> code;
  for (int i = 0; i < 300; ++i) {
    code.insert(code.end(), {0x48, 0x83, 0xC0, uint8_t(i & 0x7F)});  // add rax, imm8
    code.insert(code.end(), {0xE8, 0x00, 0x00, 0x00, 0x00});         // call +0 (next block)
  }
  code.insert(code.end(), kSyscall.begin(), kSyscall.end());
  uint64_t expect = 0;
  for (int i = 0; i < 300; ++i) expect += i & 0x7F;
  jit::JitOptions o;
  o.tc_size = 8 << 10;  // 8 KiB: far less than 300 blocks need
  Machine m;
  m.load(code);
  m.cpu.gpr[RAX] = 0;
  jit::JitEngine jit(m.as.memory(), o);
  ASSERT_EQ(jit.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(m.cpu.gpr[RAX], expect);
  EXPECT_GT(jit.stats().flushes, 0u);
}

TEST(Jit, FaultInTranslatedCodeIsPrecise) {
  // mov rax,1; mov rcx,[rdx] (rdx -> unmapped); mov rax,2; syscall
  std::vector<uint8_t> code = cat({{0x48, 0xC7, 0xC0, 0x01, 0x00, 0x00, 0x00}, {0x48, 0x8B, 0x0A},
                                   {0x48, 0xC7, 0xC0, 0x02, 0x00, 0x00, 0x00}, kSyscall});
  for (uint64_t bad : {uint64_t(0x1000), uint64_t(1) << 50, ~uint64_t(0) - 3}) {
    CpuState s = random_state(7);
    s.gpr[RDX] = bad;
    Pair p;
    p.run(code, s);
    ASSERT_EQ(p.jit.r, StopReason::Fault);
    EXPECT_EQ(p.jit.cpu.rip, kCode + 7);  // the load, not the block start
    // A non-canonical address is #GP(0) without an address (issue 21, item 6).
    const bool canonical = uint64_t(int64_t(bad << 16) >> 16) == bad;
    EXPECT_EQ(p.jit.cpu.fault.vector, canonical ? VEC_PF : VEC_GP);
    EXPECT_EQ(p.jit.cpu.fault.address, canonical ? bad : 0);
    p.expect_same();
  }
}

TEST(Jit, AccessesPastTheWindowEndFaultAtTheirOwnAddress) {
  // mov rax,[rdi+0xff8]; then mov rcx,[rdi+0x1000] or movups xmm0,[rdi+0x1000]; syscall, with
  // the last page below the window's end mapped and rdi at its start: the first load works;
  // the second access is at the window's end, its range check skipped (same base, 8 bytes
  // further), and faults on the host in the guard past the window. The guest sees #PF at
  // that address, on that instruction, with rax loaded.
  const uint64_t top = AddressSpace::kWindowSize;
  const std::vector<uint8_t> second[] = {{0x48, 0x8B, 0x8F, 0x00, 0x10, 0x00, 0x00},
                                         {0x0F, 0x10, 0x87, 0x00, 0x10, 0x00, 0x00}};
  for (const auto& insn : second) {
    Machine m;
    m.as.mmap(top - 0x1000, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    std::memset(m.as.host(top - 0x1000), 0x5A, 0x1000);
    m.load(cat({{0x48, 0x8B, 0x87, 0xF8, 0x0F, 0x00, 0x00}, insn, kSyscall}));
    m.cpu.gpr[RDI] = top - 0x1000;
    jit::JitEngine jit(m.as.memory(), {});
    ASSERT_EQ(jit.run(m.cpu), StopReason::Fault);
    EXPECT_EQ(m.cpu.fault.vector, VEC_PF);
    EXPECT_EQ(m.cpu.fault.address, top);
    EXPECT_EQ(m.cpu.rip, kCode + 7);
    EXPECT_EQ(m.cpu.gpr[RAX], 0x5A5A5A5A5A5A5A5Au);
  }
}

TEST(Jit, AccessesBelowAnEarlierOneFromTheSameBaseFaultAtTheirOwnAddress) {
  // mov rax,[rdi+0x20]; mov rcx,[rdi-0x21000]; syscall, rdi at the data region: the second
  // address wraps below 0. Its range check is skipped (same base, 0x21020 below the first),
  // so the host faults in the guard below the window; the guest sees #PF at 2^64 - 0x1000,
  // as under the interpreter, on that instruction, with rax loaded.
  const std::vector<uint8_t> code = {0x48, 0x8B, 0x47, 0x20, 0x48, 0x8B, 0x8F, 0x00,
                                     0xF0, 0xFD, 0xFF, 0x0F, 0x05};
  for (bool use_jit : {true, false}) {
    Machine m;
    m.load(code);
    m.cpu.gpr[RDI] = kData;
    std::memset(m.as.host(kData), 0x5A, 0x100);
    StopReason r = use_jit ? jit::JitEngine(m.as.memory(), {}).run(m.cpu) : Interpreter(m.as.memory()).run(m.cpu);
    SCOPED_TRACE(use_jit ? "jit" : "interp");
    ASSERT_EQ(r, StopReason::Fault);
    EXPECT_EQ(m.cpu.fault.vector, VEC_PF);
    EXPECT_EQ(m.cpu.fault.address, ~uint64_t(0xFFF));
    EXPECT_EQ(m.cpu.rip, kCode + 4);
    EXPECT_EQ(m.cpu.gpr[RAX], 0x5A5A5A5A5A5A5A5Au);
  }
}

TEST(Jit, AlignmentChecksOfOneBaseAreSharedOnlyAtMultiplesOf16) {
  // movaps xmm0,[rsi+0x20]; movaps xmm1,[rsi+0x10]; movaps xmm2,[rsi] (one alignment check
  // covers all three), then movaps xmm3,[rsi+0x18] (8 bytes off: its own check, #GP when the
  // others were aligned); syscall. rsi aligned or not.
  const std::vector<uint8_t> code = {0x0F, 0x28, 0x46, 0x20, 0x0F, 0x28, 0x4E, 0x10, 0x0F, 0x28,
                                     0x16, 0x0F, 0x28, 0x5E, 0x18, 0x0F, 0x05};
  for (uint64_t off : {0x100, 0x108, 0x104}) {
    CpuState s = random_state(off);
    s.gpr[RSI] = kData + off;
    Pair p;
    p.run(code, s);
    p.expect_same();
    EXPECT_EQ(p.jit.r, StopReason::Fault);
    EXPECT_EQ(p.jit.cpu.fault.vector, p.ref.cpu.fault.vector);
    EXPECT_EQ(p.jit.cpu.rip, kCode + (off % 16 ? 0 : 11));
  }
}

TEST(Jit, FaultRebuildsDirtyRegistersAndFlagsFromHostState) {
  // Several guest registers and the flags are modified (and kept in host registers by the
  // JIT) before a store faults; the state at the fault must be the interpreter's.
  // add rax,rcx; mov edx,5; sub r8,r9; lea r10,[rax+rdx]; mov [rsi],rax; mov rax,0; syscall
  std::vector<uint8_t> code = cat({{0x48, 0x01, 0xC8}, {0xBA, 0x05, 0x00, 0x00, 0x00}, {0x4D, 0x29, 0xC8},
                                   {0x4C, 0x8D, 0x14, 0x10}, {0x48, 0x89, 0x06},
                                   {0x48, 0xC7, 0xC0, 0x00, 0x00, 0x00, 0x00}, kSyscall});
  for (uint64_t bad : {uint64_t(0x3000), uint64_t(1) << 47}) {
    for (uint64_t seed = 1; seed <= 10; ++seed) {
      CpuState s = random_state(seed);
      s.gpr[RSI] = bad;
      Pair p;
      p.run(code, s);
      ASSERT_EQ(p.jit.r, StopReason::Fault);
      // (1 << 47 is not canonical: #GP, which has no write bit)
      EXPECT_EQ(p.jit.cpu.fault.is_write, bad == 0x3000);
      p.expect_same();
    }
  }
}

TEST(Jit, FailedRangeChecksRebuildTheStateAsHostFaultsDo) {
  // A guest address outside the window fails the access's range check; its out-of-line stub
  // leaves through the range_fault trampoline as a host fault at the access would, and the
  // access's sync record rebuilds the dirty registers, the lazy flags (both layers: inc over
  // add) and the XMM registers. Reads, writes, read-modify-writes and cmpxchg (whose record
  // parks rax in r11, so its stub writes the state back itself), at a canonical address past
  // the window (#PF), a non-canonical one (#GP) and one in the upper half.
  // add rax,rcx; inc r8; mov edx,5; addsd xmm1,xmm2; <access>; syscall
  const std::vector<uint8_t> head = cat({{0x48, 0x01, 0xC8}, {0x49, 0xFF, 0xC0}, {0xBA, 0x05, 0x00, 0x00, 0x00},
                                         {0xF2, 0x0F, 0x58, 0xCA}});
  const std::vector<uint8_t> accesses[] = {
      {0x4C, 0x8B, 0x0E},              // mov r9,[rsi]
      {0x4C, 0x89, 0x0E},              // mov [rsi],r9
      {0x01, 0x06},                    // add [rsi],eax
      {0xF0, 0x48, 0x0F, 0xB1, 0x3E},  // lock cmpxchg [rsi],rdi
      {0x48, 0x87, 0x16},              // xchg [rsi],rdx
  };
  for (const auto& access : accesses)
    for (uint64_t bad : {uint64_t(0x5000'0000'0000), uint64_t(1) << 47, uint64_t(0xFFFF'FFFF'FFFF'0000)})
      for (uint64_t seed = 1; seed <= 3; ++seed) {
        CpuState s = random_state(seed);
        s.gpr[RSI] = bad;
        Pair p;
        p.run(cat({head, access, kSyscall}), s);
        ASSERT_EQ(p.jit.r, StopReason::Fault);
        EXPECT_EQ(p.jit_fallbacks, 0u);
        EXPECT_EQ(p.jit.cpu.fault.vector, p.ref.cpu.fault.vector);
        EXPECT_EQ(p.jit.cpu.fault.address, p.ref.cpu.fault.address);
        EXPECT_EQ(p.jit.cpu.fault.is_write, p.ref.cpu.fault.is_write);
        EXPECT_EQ(p.jit.cpu.fault.error_code, p.ref.cpu.fault.error_code);
        p.expect_same();
      }
}

TEST(Jit, GuestXmmRegistersHeldInHostRegistersAreExactAtFaults) {
  // The JIT keeps guest XMM registers in host XMM registers within a block. A fault must find
  // them in CpuState as the interpreter leaves them: through the sync record on a host fault
  // (unmapped page), written back on the out-of-line paths (outside the window; misaligned
  // movaps is #GP), and at the block exit when nothing faults.
  // movapd xmm1,xmm2; addsd xmm1,xmm3; mulpd xmm4,xmm1; movups xmm5,[rdi]; <access>; syscall
  std::vector<uint8_t> head = cat({{0x66, 0x0F, 0x28, 0xCA}, {0xF2, 0x0F, 0x58, 0xCB}, {0x66, 0x0F, 0x59, 0xE1},
                                   {0x0F, 0x10, 0x2F}});
  std::vector<uint8_t> store = {0x48, 0x89, 0x06};          // mov [rsi],rax
  std::vector<uint8_t> aligned = {0x0F, 0x28, 0x76, 0x00};  // movaps xmm6,[rsi]
  for (uint64_t target : {kData + 0x100, uint64_t(0x3000), uint64_t(1) << 47, kData + 0x101}) {
    bool misaligned = target == kData + 0x101;
    std::vector<uint8_t> code = cat({head, misaligned ? aligned : store, kSyscall});
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      CpuState s = random_state(seed);
      s.gpr[RDI] = kData;
      s.gpr[RSI] = target;
      Pair p;
      p.run(code, s);
      EXPECT_EQ(p.jit_fallbacks, 0u);
      EXPECT_EQ(p.jit.r, target == kData + 0x100 ? StopReason::Syscall : StopReason::Fault);
      if (misaligned) EXPECT_EQ(p.jit.cpu.fault.vector, VEC_GP);
      p.expect_same();
    }
  }
}

// A block from Debian busybox's MD5 (43 instructions: red-zone store and reload, byte-indexed
// table loads, rotates), which once produced a wrong digest under the JIT.
TEST(Jit, BusyboxMd5RoundBlockMatchesInterpreter) {
  std::vector<uint8_t> code = {
      0x41, 0x89, 0xcf, 0x48, 0x83, 0xc3, 0x10, 0x49, 0x83, 0xc3, 0x04, 0x41, 0x31, 0xd7, 0x03, 0x53,
      0xf8, 0x44, 0x89, 0x7c, 0x24, 0xfc, 0x45, 0x0f, 0xb6, 0x7b, 0x0c, 0x44, 0x8b, 0x4c, 0x24, 0xfc,
      0x41, 0x31, 0xc1, 0x44, 0x03, 0x4b, 0xf0, 0x46, 0x03, 0x0c, 0xbf, 0x41, 0x01, 0xf1, 0x03, 0x43,
      0xf4, 0x41, 0xc1, 0xc1, 0x04, 0x41, 0x8d, 0x34, 0x09, 0x44, 0x8b, 0x4c, 0x24, 0xfc, 0x41, 0x31,
      0xf1, 0x44, 0x01, 0xc8, 0x45, 0x0f, 0xb6, 0x4b, 0x0d, 0x42, 0x03, 0x04, 0x8f, 0x45, 0x0f, 0xb6,
      0x4b, 0x0e, 0xc1, 0xc0, 0x0b, 0x42, 0x03, 0x14, 0x8f, 0x01, 0xf0, 0x45, 0x0f, 0xb6, 0x4b, 0x0f,
      0x41, 0x89, 0xd7, 0x89, 0xf2, 0x31, 0xca, 0x03, 0x4b, 0xfc, 0x42, 0x03, 0x0c, 0x8f, 0x31, 0xc2,
      0x42, 0x8d, 0x14, 0x3a, 0x41, 0x89, 0xcf, 0x89, 0xf1, 0xc1, 0xc2, 0x10, 0x31, 0xc1, 0x01, 0xc2,
      0x31, 0xd1, 0x42, 0x8d, 0x0c, 0x39, 0xc1, 0xc9, 0x09, 0x01, 0xd1, 0x4d, 0x39, 0xd8,
      0x0f, 0x05};  // (the original ends in jnz; syscall ends the test)
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    CpuState s = random_state(seed);
    s.gpr[RBX] = kData + 0x100;   // message words
    s.gpr[R11] = kData + 0x180;   // byte indices into the table
    s.gpr[RDI] = kData + 0x200;   // table of 256 words (byte index * 4 stays in the data)
    s.gpr[RSP] = kData + 0x8000;
    Pair p;
    p.run(code, s);
    ASSERT_EQ(p.jit.r, StopReason::Syscall);
    p.expect_same();
  }
}

// Self-modifying code (issue 4 item 8): pages holding translated code are write-protected.
TEST(Jit, CodeThatRewritesTheExecutingBlock) {
  // mov byte [rip+1], 2 ; mov eax, 1 ; syscall — the store patches the next instruction's
  // immediate, inside the block being executed. x86 executes the new bytes: eax = 2.
  std::vector<uint8_t> code = {0xC6, 0x05, 0x01, 0x00, 0x00, 0x00, 0x02,  // mov byte [rip+1], 2
                               0xB8, 0x01, 0x00, 0x00, 0x00,              // mov eax, 1
                               0x0F, 0x05};
  for (int round = 0; round < 3; ++round) {
    Pair p;
    p.run(code, random_state(round));
    ASSERT_EQ(p.jit.r, StopReason::Syscall);
    EXPECT_EQ(p.jit.cpu.gpr[RAX], 2u);
    p.expect_same();
  }
}

TEST(Jit, RewrittenCodeIsRetranslatedAndDataWritesToCodePagesAreCounted) {
  // f: mov eax, imm32 ; ret — called, rewritten by the guest, called again; plus plain data
  // writes to the same page.
  // 0x00: call f ; mov rbx, rax ; mov dword [rip+f_imm], 7 ; call f ; add rbx, rax ;
  //       mov [rip+data], ebx ; syscall ... f at 0x40: mov eax, 5 ; ret ; data at 0x80
  std::vector<uint8_t> code(0x100, 0x90);
  auto put = [&](size_t at, std::initializer_list<uint8_t> b) { std::copy(b.begin(), b.end(), code.begin() + at); };
  auto rel32 = [](size_t from_next, size_t to) { return uint32_t(int32_t(to) - int32_t(from_next)); };
  size_t f = 0x40, f_imm = 0x41, data = 0x80;
  uint32_t r;
  r = rel32(0x05, f);         put(0x00, {0xE8, uint8_t(r), uint8_t(r >> 8), uint8_t(r >> 16), uint8_t(r >> 24)});
  put(0x05, {0x48, 0x89, 0xC3});                                                  // mov rbx, rax
  r = rel32(0x12, f_imm);     put(0x08, {0xC7, 0x05, uint8_t(r), uint8_t(r >> 8), uint8_t(r >> 16), uint8_t(r >> 24), 7, 0, 0, 0});
  r = rel32(0x17, f);         put(0x12, {0xE8, uint8_t(r), uint8_t(r >> 8), uint8_t(r >> 16), uint8_t(r >> 24)});
  put(0x17, {0x48, 0x01, 0xC3});                                                  // add rbx, rax
  r = rel32(0x20, data);      put(0x1A, {0x89, 0x1D, uint8_t(r), uint8_t(r >> 8), uint8_t(r >> 16), uint8_t(r >> 24)});
  put(0x20, {0x0F, 0x05});
  put(f, {0xB8, 5, 0, 0, 0, 0xC3});
  Machine m;
  m.load(code);
  jit::JitEngine jit(m.as.memory(), {});
  ASSERT_EQ(jit.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(m.cpu.gpr[RBX], 12u);  // 5 before the rewrite + 7 after
  uint32_t stored;
  std::memcpy(&stored, m.as.host(kCode + data), 4);
  EXPECT_EQ(stored, 12u);
  EXPECT_GE(jit.stats().smc_write_faults, 2u);  // the rewrite and the data write
  EXPECT_GE(jit.stats().smc_invalidated_blocks, 1u);
}

TEST(Jit, ValueNumberingAndCarryFromLazyFlagsMatchInterpreter) {
  // cmp eax,ecx; setb dl (Select(c,1,0) -> BoolToU64); sbb esi,0 and adc r8,r9 (CF re-run
  // from the cmp's lazy flags); mov r10d,[rdi+8]; add [rdi+8],ecx; add r13,[rdi+8] (one
  // address value, range-checked once: it faults at the first access, on the host or at the
  // range check, or never); xor r11d,r11d; sub r12,r12 (0 whatever the register); syscall
  std::vector<uint8_t> code = {0x39, 0xC8, 0x0F, 0x92, 0xC2, 0x83, 0xDE, 0x00, 0x4D, 0x11,
                               0xC8, 0x44, 0x8B, 0x57, 0x08, 0x01, 0x4F, 0x08, 0x45, 0x31,
                               0xDB, 0x4D, 0x29, 0xE4, 0x4C, 0x03, 0x6F, 0x08, 0x0F, 0x05};
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    CpuState s = random_state(seed);
    if (seed % 4 == 0) s.gpr[RCX] = s.gpr[RAX];
    s.gpr[RDI] = seed % 3 == 0 ? kData + 0x100 : seed % 3 == 1 ? 0x40000 : uint64_t(1) << 47;
    Pair p;
    p.run(code, s);
    p.expect_same();
  }
}

TEST(Jit, BlockLoopingInPlaceKeepsRegistersExactAcrossIterationsAndFaults) {
  // loop: mov r8,rax; mov rax,rcx; mov rcx,r8 (the loop registers of rax and rcx swap: a
  // cycle at the back edge); add r9,rsi; mov esi,7 (a loop register written with a
  // constant); add rdx,[rdi]; add rdi,8; inc r10; dec r12d; jnz loop; syscall.
  // rdi walks towards the end of the data region, so some runs fault in a later iteration
  // (the state there must be that iteration's).
  std::vector<uint8_t> code = {0x49, 0x89, 0xC0, 0x48, 0x89, 0xC8, 0x4C, 0x89, 0xC1, 0x49, 0x01, 0xF1,
                               0xBE, 0x07, 0x00, 0x00, 0x00, 0x48, 0x03, 0x17, 0x48, 0x83, 0xC7, 0x08,
                               0x49, 0xFF, 0xC2, 0x41, 0xFF, 0xCC, 0x75, 0xE0, 0x0F, 0x05};
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    CpuState s = random_state(seed);
    s.gpr[R12] = 1 + seed * 7 % 50;                       // iterations
    s.gpr[RDI] = kData + 0x10000 - 8 * (seed * 13 % 60);  // faults after that many
    for (bool chain : {true, false}) {
      jit::JitOptions o;
      o.chain = chain;  // (off: no loop in place, the reference for the same code)
      Pair p;
      p.run(code, s, o);
      p.expect_same();
      EXPECT_EQ(p.jit_self_loops, chain ? 1u : 0u);
    }
  }
}

TEST(Jit, MoreLiveValuesThanHostRegistersAreSpilledNotRetranslated) {
  // xor rax,X for the fourteen X in rcx, rdx, rsi, rdi, r8..r15, rbp, rbx; then (or after
  // add rax,[rdi], which may fault) add rax,X for the same fourteen; syscall. Each X's value
  // lives from its xor to its add: fourteen values for twelve registers, so some go to spill
  // slots and come back; the block is still translated whole.
  std::vector<uint8_t> first, second;
  const uint8_t modrm[14] = {0xC8, 0xD0, 0xF0, 0xF8, 0xC0, 0xC8, 0xD0, 0xD8, 0xE0, 0xE8, 0xF0, 0xF8, 0xE8, 0xD8};
  for (int k = 0; k < 14; ++k) {
    const uint8_t rex = k >= 4 && k < 12 ? 0x4C : 0x48;
    first.insert(first.end(), {rex, 0x31, modrm[k]});
    second.insert(second.end(), {rex, 0x01, modrm[k]});
  }
  for (bool load : {false, true}) {
    const std::vector<uint8_t> code = cat({first, load ? std::vector<uint8_t>{0x48, 0x03, 0x07} : std::vector<uint8_t>{}, second, kSyscall});
    for (uint64_t seed = 1; seed <= 6; ++seed) {
      CpuState s = random_state(seed);
      s.gpr[RDI] = seed % 2 ? kData + 0x40 : 0x40000;  // (unmapped: the load faults)
      Pair p;
      p.run(code, s);
      p.expect_same();
      EXPECT_EQ(p.jit_regalloc_retries, 0u);
    }
  }
}

TEST(Jit, ALoopReadingMoreGuestRegistersThanFitStillLoopsInPlace) {
  // L: add rax,rcx; add rax,rdx; ... add rax,rbp (all fourteen others but rsp and rbx);
  //    rol rax,1; xor rcx,rax; xor r14,rax; dec ebx; jnz L; syscall
  // Fifteen guest registers read: they cannot all stay in the twelve host registers, so the
  // loop keeps six across iterations and reads the others in each.
  const std::vector<uint8_t> code = {
      0x48, 0x01, 0xC8, 0x48, 0x01, 0xD0, 0x48, 0x01, 0xF0, 0x48, 0x01, 0xF8, 0x4C, 0x01,
      0xC0, 0x4C, 0x01, 0xC8, 0x4C, 0x01, 0xD0, 0x4C, 0x01, 0xD8, 0x4C, 0x01, 0xE0, 0x4C,
      0x01, 0xE8, 0x4C, 0x01, 0xF0, 0x4C, 0x01, 0xF8, 0x48, 0x01, 0xE8, 0x48, 0xD1, 0xC0,
      0x48, 0x31, 0xC1, 0x49, 0x31, 0xC6, 0xFF, 0xCB, 0x75, 0xCC, 0x0F, 0x05};
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    CpuState s = random_state(seed);
    s.gpr[RBX] = 3 + seed;
    Pair p;
    p.run(code, s);
    p.expect_same();
    EXPECT_EQ(p.jit_self_loops, 1u);
  }
}

TEST(Jit, BlockLoopingInPlaceKeepsXmmRegistersExactAcrossIterationsAndFaults) {
  // loop: movups xmm1,[rdi]; addps xmm0,xmm1; pxor xmm2,xmm0; movups [rsi],xmm2; add rdi,16;
  // add rsi,16; dec ecx; jnz loop; syscall. XMM registers stay in host registers across
  // iterations; rdi may walk off the data region and fault in a later iteration.
  std::vector<uint8_t> code = {0x0F, 0x10, 0x0F, 0x0F, 0x58, 0xC1, 0x66, 0x0F, 0xEF, 0xD0,
                               0x0F, 0x11, 0x16, 0x48, 0x83, 0xC7, 0x10, 0x48, 0x83, 0xC6,
                               0x10, 0xFF, 0xC9, 0x75, 0xE7, 0x0F, 0x05};
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    CpuState s = random_state(seed);
    for (unsigned x = 0; x < 3; ++x)
      for (unsigned k = 0; k < 4; ++k) {
        float f = float(seed * 3 + x * 7 + k) * 0.5f;
        std::memcpy(reinterpret_cast<uint8_t*>(&s.xmm[x]) + 4 * k, &f, 4);
      }
    s.gpr[RCX] = 1 + seed * 5 % 40;
    s.gpr[RDI] = kData + 0x10000 - 16 * (seed * 11 % 50);
    s.gpr[RSI] = kData + 0x1000;
    for (bool chain : {true, false}) {
      jit::JitOptions o;
      o.chain = chain;
      Pair p;
      p.run(code, s, o);
      p.expect_same();
      EXPECT_EQ(p.jit_self_loops, chain ? 1u : 0u);
    }
  }
}

// Runs the JIT while another thread sets the exit request after 50 ms.
StopReason run_until_exit_request(jit::JitEngine& jit, Machine& m) {
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    m.cpu.exit_request = 1;
  });
  StopReason r = jit.run(m.cpu);
  t.join();
  return r;
}

TEST(Jit, ExitRequestStopsATightLoop) {
  Machine m;
  m.load({0xEB, 0xFE});  // jmp $
  jit::JitEngine jit(m.as.memory(), {});
  EXPECT_EQ(run_until_exit_request(jit, m), StopReason::ExitRequest);
  EXPECT_EQ(m.cpu.rip, kCode);
}

TEST(Jit, ExitRequestAtABackEdgeWritesWhatTheLoopHeadOverwrites) {
  // L: mov r8,rcx; add r8,3; mov rcx,r8; test cl,1; jnz odd; add r9,1; jmp L
  // odd: add r9,1; jmp L  (the block's tail)
  // Each iteration writes r8 and all the flags before anything reads them, so the back edges
  // (the block's own and its tail's) leave them in host registers; an exit request there
  // must still write them (and the loop registers) to CpuState.
  Machine m;
  m.load({0x49, 0x89, 0xC8, 0x49, 0x83, 0xC0, 0x03, 0x4C, 0x89, 0xC1, 0xF6, 0xC1, 0x01, 0x75,
          0x06, 0x49, 0x83, 0xC1, 0x01, 0xEB, 0xEB, 0x49, 0x83, 0xC1, 0x01, 0xEB, 0xE5});
  m.cpu.gpr[RCX] = 5;
  m.cpu.gpr[R8] = 0x1111;
  m.cpu.gpr[R9] = 0;
  m.cpu.rflags |= flag::ARITH;  // (stale flags would show CF, ZF, SF and OF)
  jit::JitEngine jit(m.as.memory(), {});
  EXPECT_EQ(run_until_exit_request(jit, m), StopReason::ExitRequest);
  EXPECT_EQ(jit.stats().tail_blocks, 1u);
  EXPECT_EQ(m.cpu.rip, kCode);
  const uint64_t n = m.cpu.gpr[R9];
  ASSERT_GE(n, 2u);
  EXPECT_EQ(m.cpu.gpr[RCX], 5 + 3 * n);
  EXPECT_EQ(m.cpu.gpr[R8], m.cpu.gpr[RCX]);
  // The flags of the last add r9, 1: from n - 1 to n.
  uint64_t want = (__builtin_parity(uint8_t(n)) ? 0 : flag::PF) | (((n - 1) ^ 1 ^ n) & flag::AF);
  EXPECT_EQ(m.cpu.rflags & flag::ARITH, want);
}

TEST(Jit, RepFallbackInterruptedByAnExitRequestResumesTheInstruction) {
  // rep lodsb runs in the interpreter (a fallback). An exit request in the middle of it
  // rewinds rip to the instruction with rcx/rsi updated; the block must be left there, not
  // carry on after it (which would skip the rest of the copy, leaving rcx != 0).
  // loop: mov esi,kData; mov ecx,0x10000; rep lodsb; add r9,rcx; dec r8; jnz loop; syscall
  std::vector<uint8_t> code = cat({{0xBE, 0x00, 0x00, 0x02, 0x00}, {0xB9, 0x00, 0x00, 0x01, 0x00}, {0xF3, 0xAC},
                                   {0x49, 0x01, 0xC9}, {0x49, 0xFF, 0xC8}, {0x75, 0xEC}, kSyscall});
  static_assert(kData == 0x20000);
  Machine m;
  m.load(code);
  m.cpu.gpr[R8] = 1000;
  m.cpu.gpr[R9] = 0;
  jit::JitEngine jit(m.as.memory(), {});
  std::atomic<bool> done{false};
  std::thread t([&] {
    while (!done) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      m.cpu.exit_request = 1;
    }
  });
  int requests = 0;
  StopReason r;
  while ((r = jit.run(m.cpu)) == StopReason::ExitRequest) {
    ++requests;
    m.cpu.exit_request = 0;
  }
  done = true;
  t.join();
  EXPECT_EQ(r, StopReason::Syscall);
  EXPECT_GT(requests, 0);
  EXPECT_EQ(m.cpu.gpr[R9], 0u);  // every rep ran to rcx = 0
  EXPECT_EQ(m.cpu.gpr[R8], 0u);
  EXPECT_EQ(m.cpu.gpr[RSI], kData + 0x10000);
}

TEST(Jit, UntranslatedInstructionsFallBackToTheInterpreter) {
  // cpuid (never translated) between translated instructions.
  std::vector<uint8_t> code = cat({{0x48, 0x01, 0xC8}, {0x0F, 0xA2}, {0x48, 0x01, 0xC8}, kSyscall});
  Pair p;
  p.run(code, random_state(3));
  EXPECT_EQ(p.jit_fallbacks, 1u);
  EXPECT_EQ(p.jit.r, StopReason::Syscall);
  p.expect_same();
}

}  // namespace
}  // namespace vireo::test
