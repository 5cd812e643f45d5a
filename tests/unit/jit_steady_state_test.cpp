// Steady-state code generation. Loops in place, emitted twice (the first iteration, then a copy that loops onto itself):
// the second copy drops the range checks of accesses through an induction variable (a loop
// register stepping by a bounded constant) and the carried-flags indicator; a loop
// register's next value is computed in the loop register itself where its head value is dead.
// Each case runs on the jit and on the interpreter from the same state and must end the same:
// faults in the first iteration and in later ones, at the window's ends, under flags that are
// live across the back edge, and with the loop rewriting its own page. And addresses x + c
// folded into their loads and stores ([r15 + x + c]): checked as x + c, not as x; 32-bit
// reads of guest registers as 32-bit loads from CpuState; and adc/sbb done once for their
// value and their flags.
#include "jit_harness.h"

#include <chrono>
#include <functional>
#include <thread>

namespace vireo::test {
namespace {

struct Outcome {
  StopReason r;
  CpuState cpu;
  uint64_t self_loops = 0;
};

// Runs `code` on a Machine prepared by `setup` (extra mappings, memory contents), from
// `start` (rip at kCode), on the jit (`jit`) or the interpreter.
Outcome run_on(bool jit, const std::vector<uint8_t>& code, const CpuState& start,
               const std::function<void(Machine&)>& setup) {
  Machine m;
  m.load(code);
  setup(m);
  m.cpu = start;
  m.cpu.rip = kCode;
  Outcome o;
  if (jit) {
    jit::JitOptions opts;
    jit::JitEngine e(m.as.memory(), opts);
    o.r = e.run(m.cpu);
    o.self_loops = e.stats().self_loop_blocks;
  } else {
    Interpreter e(m.as.memory());
    o.r = e.run(m.cpu);
  }
  o.cpu = m.cpu;
  return o;
}

void expect_same(const Outcome& jit, const Outcome& ref, const std::string& what) {
  SCOPED_TRACE(what);
  expect_same_stop(jit.r, jit.cpu, ref.r, ref.cpu);
}

// l: mov rax,[rdi]; add rdi,8; add rdx,rax; dec ecx; jnz l; syscall
const std::vector<uint8_t> kWalkUp = {0x48, 0x8B, 0x07, 0x48, 0x83, 0xC7, 0x08, 0x48,
                                      0x01, 0xC2, 0xFF, 0xC9, 0x75, 0xF2, 0x0F, 0x05};

TEST(JitLoopPeeling, InductionAccessRunningPastTheWindowEndFaultsThere) {
  // The last page below the window's end is mapped; rdi walks up into the end. The access
  // faults in the first iteration (checked), the second (the first unchecked one) or later:
  // the unchecked access lands in the guard past the window, a #PF at the window's end, with
  // that iteration's registers and the flags of its `dec`.
  const uint64_t top = AddressSpace::kWindowSize;
  auto setup = [&](Machine& m) {
    m.as.mmap(top - 0x1000, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    for (int i = 0; i < 0x1000; ++i) m.as.host(top - 0x1000)[i] = uint8_t(i * 13);
  };
  for (uint64_t before : {0u, 1u, 2u, 5u, 40u}) {
    CpuState s = random_state(before + 3);
    s.gpr[RDI] = top - 8 * before;
    s.gpr[RCX] = 1000;
    Outcome jit = run_on(true, kWalkUp, s, setup), ref = run_on(false, kWalkUp, s, setup);
    expect_same(jit, ref, "faults after " + std::to_string(before) + " iterations");
    EXPECT_EQ(jit.r, StopReason::Fault);
    EXPECT_EQ(jit.cpu.fault.address, top);
    EXPECT_EQ(jit.cpu.rip, kCode);
    EXPECT_EQ(jit.self_loops, 1u);
  }
}

TEST(JitLoopPeeling, InductionAccessRunningBelowAddressZeroFaultsThere) {
  // l: mov rax,[rdi+8]; sub rdi,8; add rdx,rax; dec ecx; jnz l; syscall — page 0 mapped, rdi
  // walking down through it: the access below 0 wraps to the top of the address space (the
  // guard below the window on the host), a fault at that address on that iteration.
  const std::vector<uint8_t> code = {0x48, 0x8B, 0x47, 0x08, 0x48, 0x83, 0xEF, 0x08, 0x48,
                                     0x01, 0xC2, 0xFF, 0xC9, 0x75, 0xF1, 0x0F, 0x05};
  auto setup = [](Machine& m) {
    ASSERT_EQ(m.as.mmap(0, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), 0);
    for (int i = 0; i < 0x1000; ++i) m.as.host(0)[i] = uint8_t(i * 5 + 1);
  };
  for (uint64_t start : {uint64_t(0) - 8, uint64_t(0) - 16, uint64_t(0), uint64_t(0x40), uint64_t(0x400)}) {
    CpuState s = random_state(start + 11);
    s.gpr[RDI] = start;
    s.gpr[RCX] = 1000;
    Outcome jit = run_on(true, code, s, setup), ref = run_on(false, code, s, setup);
    expect_same(jit, ref, "from " + std::to_string(start));
    EXPECT_EQ(jit.r, StopReason::Fault);
  }
}

TEST(JitLoopPeeling, AStepWiderThanTheGuardKeepsItsCheck) {
  // l: mov rax,[rdi]; add rdi,0x200000; add rdx,rax; dec ecx; jnz l; syscall — a 2 MiB step
  // jumps over the 1 MiB guard past the window: every iteration is checked, so the second
  // access faults as the guest's #PF instead of reaching host memory past the guard.
  const std::vector<uint8_t> code = {0x48, 0x8B, 0x07, 0x48, 0x81, 0xC7, 0x00, 0x00, 0x20, 0x00,
                                     0x48, 0x01, 0xC2, 0xFF, 0xC9, 0x75, 0xEF, 0x0F, 0x05};
  const uint64_t top = AddressSpace::kWindowSize;
  auto setup = [&](Machine& m) {
    m.as.mmap(top - 0x1000, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  };
  for (uint64_t from : {top - 8, top - 0x200008}) {
    CpuState s = random_state(5);
    s.gpr[RDI] = from;
    s.gpr[RCX] = 10;
    Outcome jit = run_on(true, code, s, setup), ref = run_on(false, code, s, setup);
    expect_same(jit, ref, "from top - " + std::to_string(top - from));
    EXPECT_EQ(jit.r, StopReason::Fault);
  }
}

TEST(JitLoopPeeling, CarriedFlagsAreExactAtFaultsInTheFirstAndLaterIterations) {
  // sieve's loop: l: mov byte [rbx+rax],1; add rax,rdx; cmp rax,r13; jle l; syscall. A store
  // fault before the iteration's cmp needs the previous iteration's flags (carried in the
  // loop registers by the second copy) or, in the first iteration, the flags the block was
  // entered with (CpuState's, in the first copy).
  const std::vector<uint8_t> code = {0xC6, 0x04, 0x03, 0x01, 0x48, 0x01, 0xD0,
                                     0x4C, 0x39, 0xE8, 0x7E, 0xF4, 0x0F, 0x05};
  for (uint64_t seed = 1; seed <= 24; ++seed) {
    CpuState s = random_state(seed);
    s.gpr[RBX] = kData;
    s.gpr[RAX] = seed % 3 == 0 ? 0x10000 : seed * 8;  // (0x10000: past the data, at once)
    s.gpr[RDX] = 1 + seed * 37 % 700;
    s.gpr[R13] = seed % 2 ? 0x20000 : 0x8000;  // (past the data: a fault in a later iteration)
    Outcome jit = run_on(true, code, s, [](Machine&) {}), ref = run_on(false, code, s, [](Machine&) {});
    expect_same(jit, ref, "seed " + std::to_string(seed));
  }
}

TEST(JitLoopPeeling, LoopRegisterComputedInPlaceAndFlagsKeepingTheHeadValueAlive) {
  // l: add rdi,8; mov rax,[rsi]; add rsi,16; add rdx,rax; cmp rsi,r8; jb l; syscall.
  // rdi's head value is read by the flags of its add, live at the load: its next value
  // cannot take its register while those flags are uncomputed, and a fault at the load must
  // see them. rsi's next value is computed in place.
  const std::vector<uint8_t> code = {0x48, 0x83, 0xC7, 0x08, 0x48, 0x8B, 0x06, 0x48, 0x83, 0xC6, 0x10,
                                     0x48, 0x01, 0xC2, 0x4C, 0x39, 0xC6, 0x72, 0xED, 0x0F, 0x05};
  // l: mov rax,[rsi]; add rsi,8; add rdx,rax; sub rcx,1; jnz l; syscall (rsi and rcx in place)
  const std::vector<uint8_t> code2 = {0x48, 0x8B, 0x06, 0x48, 0x83, 0xC6, 0x08, 0x48, 0x01,
                                      0xC2, 0x48, 0x83, 0xE9, 0x01, 0x75, 0xF0, 0x0F, 0x05};
  for (uint64_t seed = 1; seed <= 16; ++seed) {
    CpuState s = random_state(seed);
    s.gpr[RDI] = seed % 2 ? ~uint64_t(0) - 8 * seed : seed;  // (the add's carry and overflow vary)
    s.gpr[RSI] = kData + 0x10000 - 16 * (seed * 5 % 40);    // faults past the data region
    s.gpr[R8] = kData + 0x10000 + (seed % 3 ? 0x100 : 0);
    s.gpr[RCX] = 1 + seed * 3;
    for (const auto* c : {&code, &code2}) {
      Outcome jit = run_on(true, *c, s, [](Machine&) {}), ref = run_on(false, *c, s, [](Machine&) {});
      expect_same(jit, ref, "seed " + std::to_string(seed));
    }
  }
}

TEST(JitLoopPeeling, ALoopStoringIntoItsOwnCodeIsExact) {
  // l: mov byte [rdi],0x90; inc rdi; dec ecx; jnz l; nop; syscall, rdi pointing into the
  // code page itself (past the loop, then over the loop's own bytes): the unchecked stores of
  // the second copy write-protect-fault like any store to translated code.
  const std::vector<uint8_t> code = {0xC6, 0x07, 0x90, 0x48, 0xFF, 0xC7, 0xFF, 0xC9, 0x75, 0xF6, 0x90, 0x0F, 0x05};
  for (uint64_t target : {kCode + 0x100, kCode + 0x0A, kCode + 0x08}) {
    CpuState s = random_state(target);
    s.gpr[RDI] = target;
    s.gpr[RCX] = target == kCode + 0x100 ? 300 : 2;
    Outcome jit = run_on(true, code, s, [](Machine&) {}), ref = run_on(false, code, s, [](Machine&) {});
    expect_same(jit, ref, "store target " + std::to_string(target - kCode));
  }
}

TEST(JitDisplacement, FoldedAddressesAreCheckedAndFaultAtTheirOwnAddress) {
  // add rcx,rdx; mov rax,[rdi+0x10]; mov [rdi-8],rcx; mov rdi,[rdi+0x18]; syscall, with the
  // last page below the window's end and page 0 mapped. rdi at the window's end: [rdi+0x10]
  // is past it (the check of x + c fails: #PF there, rcx and the add's flags exact);
  // rdi = top - 0x10: the first load at the window's end; rdi just below 2^64: the load
  // wraps around to page 0 (valid: x alone would fail a check), the store below it faults in
  // the upper half; rdi = top - 0x20: all three accesses inside, the last one overwriting its
  // own base.
  const std::vector<uint8_t> code = {0x48, 0x01, 0xD1, 0x48, 0x8B, 0x47, 0x10, 0x48, 0x89,
                                     0x4F, 0xF8, 0x48, 0x8B, 0x7F, 0x18, 0x0F, 0x05};
  const uint64_t top = AddressSpace::kWindowSize;
  auto setup = [&](Machine& m) {
    m.as.mmap(top - 0x1000, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    ASSERT_EQ(m.as.mmap(0, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), 0);
    for (int i = 0; i < 0x1000; ++i) m.as.host(top - 0x1000)[i] = m.as.host(0)[i] = uint8_t(i * 3 + 7);
  };
  const struct {
    uint64_t rdi;
    bool faults;
  } cases[] = {{top, true}, {top - 0x10, true}, {~uint64_t(0) - 0x7, true}, {top - 0x20, false}};
  for (auto [rdi, faults] : cases) {
    CpuState s = random_state(rdi);
    s.gpr[RDI] = rdi;
    Outcome jit = run_on(true, code, s, setup), ref = run_on(false, code, s, setup);
    expect_same(jit, ref, "rdi " + std::to_string(rdi));
    EXPECT_EQ(jit.r, faults ? StopReason::Fault : StopReason::Syscall);
  }
}

TEST(JitRangeChecks, TheLimitRegisterSurvivesHelperCallsAndIsNoGuestRegister) {
  // mov ecx,4; rep stosb (a helper call); mov rax,[rsi]; syscall. Range checks compare with host r14
  // (the window's limit, loaded at entry; block_emitter.h, kLimitReg): after the helper it
  // still holds the limit, and the guest's own r14 (any value) has no part in the check. rsi
  // at the window's end faults there (rax, rcx, rdi exact); just below it, the load passes.
  const std::vector<uint8_t> code = {0xB9, 0x04, 0x00, 0x00, 0x00, 0xF3, 0xAA,
                                     0x48, 0x8B, 0x06, 0x0F, 0x05};
  const uint64_t top = AddressSpace::kWindowSize;
  auto setup = [&](Machine& m) {
    m.as.mmap(top - 0x1000, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  };
  for (uint64_t guest_r14 : {uint64_t(0), top, ~uint64_t(0)})
    for (auto [rsi, faults] : {std::pair{top, true}, std::pair{top - 8, false}, std::pair{~uint64_t(0) - 0x7, true}}) {
      CpuState s = random_state(rsi ^ guest_r14);
      s.gpr[RSI] = rsi;
      s.gpr[RDI] = top - 0x1000;
      s.gpr[R14] = guest_r14;
      s.rflags &= ~uint64_t(flag::DF);
      Outcome jit = run_on(true, code, s, setup), ref = run_on(false, code, s, setup);
      expect_same(jit, ref, "rsi " + std::to_string(rsi) + ", guest r14 " + std::to_string(guest_r14));
      EXPECT_EQ(jit.r, faults ? StopReason::Fault : StopReason::Syscall);
      if (rsi == top) EXPECT_EQ(jit.cpu.fault.address, top);
    }
}

TEST(JitGprReads, ThirtyTwoBitReadsOfCpuStateAreExactBesideDirtyRegistersAndFaults) {
  // mov eax,ecx; add rcx,rdx; mov r8d,ecx; mov edx,[rbx]; mov r9d,esi; add r9d,edi; syscall:
  // 32-bit reads straight from CpuState (ecx, esi, edi), one of a dirty register (ecx after
  // the add), around a load that faults for some states (rbx unmapped).
  const std::vector<uint8_t> code = {0x89, 0xC8, 0x48, 0x01, 0xD1, 0x41, 0x89, 0xC8, 0x8B,
                                     0x13, 0x41, 0x89, 0xF1, 0x41, 0x01, 0xF9, 0x0F, 0x05};
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    CpuState s = random_state(seed);
    if (seed % 3 == 0) s.gpr[RBX] = 0x1000;  // (unmapped: the load faults)
    Pair p;
    p.run(code, s);
    p.expect_same();
  }
}

TEST(JitAdcSbb, ValueAndFlagsFromOneHostInstructionAreExactAtFaultsAndExits) {
  // qsort's comparison: mov ecx,[rdi]; mov edx,[rsi]; xor eax,eax; cmp edx,ecx; setb al;
  // cmp ecx,edx; sbb eax,0; then mov r8,[rbx] (the sbb's flags live at a possible fault);
  // adc r9,r10 (its flags live at the next load and at the block's end); mov r11,[rbx+8].
  const std::vector<uint8_t> code = {0x8B, 0x0F, 0x8B, 0x16, 0x31, 0xC0, 0x39, 0xCA, 0x0F, 0x92,
                                     0xC0, 0x39, 0xD1, 0x83, 0xD8, 0x00, 0x4C, 0x8B, 0x03, 0x4D,
                                     0x11, 0xD1, 0x4C, 0x8B, 0x5B, 0x08, 0x0F, 0x05};
  for (uint64_t seed = 1; seed <= 24; ++seed) {
    CpuState s = random_state(seed);
    s.gpr[RDI] = kData + seed * 4;
    s.gpr[RSI] = kData + 0x40 - seed * 2;
    if (seed % 4 == 0) s.gpr[RBX] = 0x1000;           // the load after the sbb faults
    if (seed % 4 == 1) s.gpr[RBX] = kData + 0xFFF8;   // the load after the adc faults
    Pair p;
    p.run(code, s);
    p.expect_same();
  }
}

TEST(JitIndirectBranch, NonCanonicalTargetFaultsAtTheBranchAfterJumpCacheHits) {
  // l: add rdx, rcx; dec ecx; (cmovz r8, r9 | jnz m; mov r8, r9; m:) push r8; then ret,
  // ret 8, jmp r8 or jmp [rsp], back to l (r8) while ecx counts down, then to r9, non-canonical.
  // A jump-cache hit is a translated block's pc, so the branch's canonical check is made on
  // the miss path only, after the block's state went to CpuState: #GP at the branch with
  // rsp as before it (ret's pop taken back) and the flags of the dec, as the interpreter has.
  const std::vector<uint8_t> head = {0x48, 0x01, 0xCA, 0xFF, 0xC9};
  const std::vector<uint8_t> cmovz = {0x4D, 0x0F, 0x44, 0xC1}, jnz_mov = {0x75, 0x03, 0x4D, 0x89, 0xC8};
  const std::vector<uint8_t> push = {0x41, 0x50};
  const std::vector<std::vector<uint8_t>> branches = {
      {0xC3}, {0xC2, 0x08, 0x00}, {0x41, 0xFF, 0xE0}, {0xFF, 0x24, 0x24}};
  for (const auto& select : {cmovz, jnz_mov})
    for (size_t k = 0; k < branches.size(); ++k)
      for (uint64_t iterations : {1u, 2u, 9u}) {
        CpuState s = random_state(k * 10 + iterations);
        s.gpr[RCX] = iterations;
        s.gpr[R8] = kCode;
        s.gpr[R9] = 0x8000000000001000ull;
        Pair p;
        p.run(cat({head, select, push, branches[k]}), s);
        SCOPED_TRACE("branch " + std::to_string(k) + (select == cmovz ? ", cmovz" : ", jnz") + ", " +
                     std::to_string(iterations) + " iterations");
        p.expect_same();
        EXPECT_EQ(p.jit.r, StopReason::Fault);
        EXPECT_EQ(p.jit.cpu.fault.vector, VEC_GP);
      }
}

TEST(JitIndirectBranch, ACallPushesOnlyOnceItsTargetIsKnownCanonical) {
  // l: add rdx, rcx; dec ecx; jnz m; (mov r8, r9 | mov rsp, r10 | both); jmp r11;
  // m: call r8, or mov [rbx], r8; call [rbx]; back to l while ecx counts down. Block m is the
  // call alone (entered by the jnz, then by the jmp r11's jump-cache hit): its jump-cache
  // probe comes before its push (a hit is a translated block's pc, canonical), the canonical
  // check on the miss path. A non-canonical target is #GP at the call with nothing pushed
  // and rsp as before it; a push outside the window or onto an unmapped page is #PF at the
  // call with rsp as before it, and so is a non-canonical call whose push would fault too (the
  // CPU checks the stack first: native, tests/exactness/src/noncanonical_branch.c), as the
  // interpreter has.
  const std::vector<uint8_t> head = {0x48, 0x01, 0xCA, 0xFF, 0xC9};
  const std::vector<uint8_t> to_r9 = {0x4D, 0x89, 0xC8}, rsp_to_r10 = {0x4C, 0x89, 0xD4};
  const std::vector<uint8_t> jmp_r11 = {0x41, 0xFF, 0xE3};
  const std::vector<std::vector<uint8_t>> calls = {{0x41, 0xFF, 0xD0}, {0x4C, 0x89, 0x03, 0xFF, 0x13}};
  const std::vector<std::vector<uint8_t>> sets = {to_r9, rsp_to_r10, cat({to_r9, rsp_to_r10})};
  for (size_t c = 0; c < calls.size(); ++c)
    for (size_t k = 0; k < sets.size(); ++k)
      for (uint64_t bad_stack : {0x8ull, 0x500000000008ull})
        for (uint64_t iterations : {1u, 2u, 9u}) {
          if (k == 0 && bad_stack != 0x8) continue;  // (the stack stays)
          const uint64_t m = kCode + head.size() + 2 + sets[k].size() + jmp_r11.size();
          CpuState s = random_state(c * 100 + k * 10 + iterations);
          s.gpr[RCX] = iterations;
          s.gpr[R8] = kCode;
          s.gpr[R9] = 0x8000000000001000ull;
          s.gpr[R10] = bad_stack;
          s.gpr[R11] = m;
          s.gpr[RBX] = kData + 0x100;
          s.gpr[RSP] = kData + 0x8000;
          const std::vector<uint8_t> jnz = {0x75, uint8_t(sets[k].size() + jmp_r11.size())};
          Pair p;
          p.run(cat({head, jnz, sets[k], jmp_r11, calls[c]}), s);
          SCOPED_TRACE("call " + std::to_string(c) + ", set " + std::to_string(k) + ", stack " +
                       std::to_string(bad_stack) + ", " + std::to_string(iterations) + " iterations");
          p.expect_same();
          EXPECT_EQ(p.jit.r, StopReason::Fault);
          EXPECT_EQ(p.jit.cpu.fault.vector, k == 0 ? VEC_GP : VEC_PF);  // (the push is checked first)
          EXPECT_EQ(p.jit.cpu.rip, m + (c == 1 ? 3 : 0));  // the call
        }
}

TEST(JitIndirectBranch, ACallWhoseTargetWasHitThenRewrittenRunsTheNewCode) {
  // l: call r8; add rdx, rax; cmp ecx, 5; jne s; mov dword [r8+1], 0x22; s: dec ecx; jnz l;
  // syscall, with f at r8: mov eax, 0x11; ret. The call (a deferred push) hits f's block in the
  // jump cache until the loop rewrites f's immediate: the block goes, and so must its slot.
  // f on the loop's page and on a page of its own.
  const std::vector<uint8_t> loop = {0x41, 0xFF, 0xD0, 0x48, 0x01, 0xC2, 0x83, 0xF9, 0x05, 0x75,
                                     0x08, 0x41, 0xC7, 0x40, 0x01, 0x22, 0x00, 0x00, 0x00, 0xFF,
                                     0xC9, 0x75, 0xE9, 0x0F, 0x05};
  const std::vector<uint8_t> f = {0xB8, 0x11, 0x00, 0x00, 0x00, 0xC3};
  for (uint64_t at : {0x100u, 0x1000u}) {
    std::vector<uint8_t> code = loop;
    code.resize(at + f.size(), 0xCC);
    std::copy(f.begin(), f.end(), code.begin() + at);
    CpuState s = random_state(at);
    s.gpr[RCX] = 12;
    s.gpr[RDX] = 0;
    s.gpr[R8] = kCode + at;
    s.gpr[RSP] = kData + 0x8000;
    Pair p;
    p.run(code, s);
    SCOPED_TRACE("f at +" + std::to_string(at));
    p.expect_same();
    EXPECT_EQ(p.jit.r, StopReason::Syscall);
    EXPECT_EQ(p.jit.cpu.gpr[RDX], 8u * 0x11 + 4u * 0x22);  // 8 calls before the rewrite, 4 after
    EXPECT_GT(p.jit_smc_invalidated, 0u);
  }
}

// User mode checks the exit request on the edges that can close a cycle (to a pc at or below
// the block's start, and indirect branches), not at every block entry. A pending request must
// still stop every loop, at a block boundary with the state of that point. The loops count
// their iterations in memory ([rbx + 8]); the request comes once a few have run (chained).
StopReason run_until_request(jit::JitEngine& jit, Machine& m) {
  const volatile uint64_t* count = reinterpret_cast<const volatile uint64_t*>(m.as.host(kData + 8));
  std::thread t([&] {
    for (int i = 0; i < 10000 && *count < 100; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    m.cpu.exit_request = 1;
  });
  StopReason r = jit.run(m.cpu);
  t.join();
  return r;
}

TEST(JitEdgeChecks, ALoopOverTwoPagesStopsAtARequest) {
  // kCode: add qword [rbx+8], 1; jmp kCode + 0x1000 (forward: not checked)
  // kCode + 0x1000: add r10, 1; jmp kCode (backward: checked)
  Machine m;
  m.load({0x48, 0x83, 0x43, 0x08, 0x01, 0xE9, 0xF6, 0x0F, 0x00, 0x00});
  const std::vector<uint8_t> back = {0x49, 0x83, 0xC2, 0x01, 0xE9, 0xF7, 0xEF, 0xFF, 0xFF};
  std::memcpy(m.as.host(kCode + 0x1000), back.data(), back.size());
  m.cpu.gpr[RBX] = kData;
  m.cpu.gpr[R10] = 0;
  jit::JitEngine jit(m.as.memory(), {});
  ASSERT_EQ(run_until_request(jit, m), StopReason::ExitRequest);
  uint64_t count;
  std::memcpy(&count, m.as.host(kData + 8), 8);
  EXPECT_EQ(m.cpu.rip, kCode);  // (the only checked edge leads there)
  EXPECT_GE(count, 100u);
  EXPECT_EQ(m.cpu.gpr[R10], count);
}

TEST(JitEdgeChecks, AnIndirectLoopStopsAtARequest) {
  // kCode: add qword [rbx+8], 1; mov rax, [rbx]; jmp rax  ([rbx] = kCode: a jump-cache hit)
  Machine m;
  m.load({0x48, 0x83, 0x43, 0x08, 0x01, 0x48, 0x8B, 0x03, 0xFF, 0xE0});
  const uint64_t target = kCode;
  std::memcpy(m.as.host(kData), &target, 8);
  m.cpu.gpr[RBX] = kData;
  jit::JitEngine jit(m.as.memory(), {});
  ASSERT_EQ(run_until_request(jit, m), StopReason::ExitRequest);
  uint64_t count;
  std::memcpy(&count, m.as.host(kData + 8), 8);
  EXPECT_EQ(m.cpu.rip, kCode);
  EXPECT_GE(count, 100u);
  EXPECT_EQ(m.cpu.gpr[RAX], kCode);
  EXPECT_GT(jit.stats().jump_cache_hits, 0u);
}

}  // namespace
}  // namespace vireo::test
