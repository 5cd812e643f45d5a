// Checked pages (docs/jit.md, "Checked pages"): a code page that keeps taking write faults for
// new code written next to its translated code stops being write-protected, for every thread,
// and the blocks translated from it verify their guest bytes at entry.
#include <sys/mman.h>

#include "jit/cache/shared_code.h"
#include "jit/frontend/translator.h"
#include "jit_harness.h"

namespace vireo::test {
namespace {

using Code = std::vector<uint8_t>;

TEST(JitCheckedPages, FaultsNearCodeCheckThePageAndDropOtherThreadsCode) {
  Machine m;
  jit::SharedCode shared(m.as.memory());
  volatile uint32_t request_a = 0, request_b = 0;
  jit::SharedCode::Member* a = shared.join(&request_a);
  jit::SharedCode::Member* b = shared.join(&request_b);
  // Thread b translated code from the page: it is protected (not checked).
  EXPECT_FALSE(shared.protect(b, kCode));
  for (uint32_t i = 1; i < jit::SharedCode::kCheckAfterFaults; ++i) {
    EXPECT_FALSE(shared.note_write_near_code(a, kCode)) << "fault " << i;
    EXPECT_FALSE(shared.checked(kCode));
  }
  EXPECT_EQ(request_b, 0u);
  // The last fault checks the page: b's code there (translated unchecked) must go.
  EXPECT_TRUE(shared.note_write_near_code(a, kCode));
  EXPECT_TRUE(shared.checked(kCode));
  EXPECT_EQ(request_b, 1u);
  EXPECT_EQ(request_a, 0u);
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  EXPECT_FALSE(shared.take(b, ranges));
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0], std::make_pair(kCode, uint64_t(4096)));
  // From now on no thread protects it: protect says "checked" and the host page stays
  // writable (a guest store there does not fault).
  EXPECT_TRUE(shared.protect(a, kCode));
  EXPECT_TRUE(shared.protect(b, kCode));
  m.as.host(kCode)[100] = 0x90;
  EXPECT_EQ(m.as.host(kCode)[100], 0x90);
  // Other pages are not affected.
  EXPECT_FALSE(shared.checked(kCode + 4096));
  EXPECT_FALSE(shared.protect(a, kCode + 4096));
  shared.leave(a);
  shared.leave(b);
}

TEST(JitCheckedPages, BlocksFromCheckedPagesEndAfterEveryStore) {
  // mov [rdi], eax ; add eax, 1 ; push rax ; add eax, 2 ; ret
  std::vector<uint8_t> code = {0x89, 0x07, 0x83, 0xC0, 0x01, 0x50, 0x83, 0xC0, 0x02, 0xC3};
  Machine m;
  m.load(code);
  std::vector<jit::FallbackSite> fallbacks;
  jit::ir::Block whole, first, second;
  ASSERT_TRUE(jit::translate_block(m.as.memory(), kCode, {}, whole, fallbacks, false));
  EXPECT_EQ(whole.guest_insns, 5u);
  jit::BlockLimits checked;
  checked.end_after_store = true;
  ASSERT_TRUE(jit::translate_block(m.as.memory(), kCode, checked, first, fallbacks, false));
  EXPECT_EQ(first.guest_insns, 1u);  // the store, then a chainable jump to the next instruction
  EXPECT_EQ(first.term.kind, jit::ir::Terminal::Kind::Jump);
  EXPECT_EQ(first.term.target, kCode + 2);
  ASSERT_TRUE(jit::translate_block(m.as.memory(), kCode + 2, checked, second, fallbacks, false));
  EXPECT_EQ(second.guest_insns, 2u);  // add, push (a store to the stack)
  EXPECT_EQ(second.term.target, kCode + 6);
}

TEST(JitCheckedPages, ACheckedBlockRunsTheNewBytesAfterAnUnseenRewrite) {
  // kCode: call f ; mov byte [kCode + 0x180], 0x90 ; syscall — f: mov eax, imm32 ; ret at
  // kCode + 0x100. The store is new code next to f's translation: one write fault per run.
  std::vector<uint8_t> code(0x200, 0x90);
  const uint8_t caller[] = {0xE8, 0xFB, 0x00, 0x00, 0x00,                    // call kCode + 0x100
                            0xC6, 0x05, 0x74, 0x01, 0x00, 0x00, 0x90,        // mov byte [rip+0x174], 0x90
                            0x0F, 0x05};                                    // syscall
  std::copy(std::begin(caller), std::end(caller), code.begin());
  const uint8_t f[] = {0xB8, 0x01, 0x00, 0x00, 0x00, 0xC3};
  std::copy(std::begin(f), std::end(f), code.begin() + 0x100);
  Machine m;
  m.load(code);
  jit::JitEngine e(m.as.memory(), {});  // (every block translated at its first entry)
  auto call = [&] {
    m.cpu.rip = kCode;
    m.cpu.gpr[RSP] = kData + 0x8000;
    return e.run(m.cpu);
  };
  for (uint32_t i = 0; i < jit::SharedCode::kCheckAfterFaults; ++i) {
    ASSERT_EQ(call(), StopReason::Syscall);
    EXPECT_EQ(m.cpu.gpr[RAX], 1u);
    EXPECT_EQ(e.stats().smc_write_faults, i + 1);
  }
  // (the syscall after the last fault's store is translated checked already)
  EXPECT_LE(e.stats().checked_blocks, 1u);
  // The page is checked now: f is rewritten with nothing protecting it, and its entry check
  // finds the new bytes; the caller's store faults no more.
  for (uint32_t v = 2; v < 50; ++v) {
    std::memcpy(m.as.host(kCode + 0x101), &v, 4);
    ASSERT_EQ(call(), StopReason::Syscall);
    EXPECT_EQ(m.cpu.gpr[RAX], v);
  }
  EXPECT_EQ(e.stats().smc_write_faults, uint64_t(jit::SharedCode::kCheckAfterFaults));
  EXPECT_GE(e.stats().checked_blocks, 48u);
  // (the first rewrite finds f's block dropped at the last fault: 47 stale entries)
  EXPECT_GE(e.stats().checked_stale, 47u);
}


// The entry check of code above 2 GiB (a guest JIT's mmap'd arena) compares through r11 with
// short displacements, each immediate in the short (sign-extended byte) or the long form: a
// function of 11 bytes (three compares, the last overlapping) rewritten in its first and its
// last bytes, with values of each form, is seen each time.
TEST(JitCheckedPages, EntryChecksOfFarCodeSeeEveryRewrittenByte) {
  constexpr uint64_t kFar = 0x100000000, kFn = kFar + 0x40;
  Machine m;
  m.as.mmap(kFar, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  Code caller = {0x48, 0xB8};  // mov rax, kFn ; call rax ; mov rcx, kFn + 0x80 ; mov byte [rcx], 0x90 ; syscall
  for (int k = 0; k < 8; ++k) caller.push_back(uint8_t(kFn >> 8 * k));
  caller.insert(caller.end(), {0xFF, 0xD0, 0x48, 0xB9});
  for (int k = 0; k < 8; ++k) caller.push_back(uint8_t((kFn + 0x80) >> 8 * k));
  caller.insert(caller.end(), {0xC6, 0x01, 0x90, 0x0F, 0x05});
  m.load(caller);
  auto write_fn = [&](uint32_t a, uint32_t b) {  // mov eax, a ; add eax, b ; ret
    uint8_t* p = m.as.host(kFn);
    p[0] = 0xB8;
    std::memcpy(p + 1, &a, 4);
    p[5] = 0x05;
    std::memcpy(p + 6, &b, 4);
    p[10] = 0xC3;
  };
  write_fn(1, 2);
  jit::JitEngine e(m.as.memory(), {});  // (every block translated at its first entry)
  auto call = [&] {
    m.cpu.rip = kCode;
    m.cpu.gpr[RSP] = kData + 0x8000;
    return e.run(m.cpu);
  };
  for (uint32_t i = 0; i < jit::SharedCode::kCheckAfterFaults; ++i) {
    ASSERT_EQ(call(), StopReason::Syscall);
    EXPECT_EQ(m.cpu.gpr[RAX], 3u);
  }
  const uint32_t values[] = {5, 0x7F, 0x80, 0xFFFFFF80, 0xFFFFFF7F, 0x12345678, 0x100, 0};
  uint32_t a = 1, b = 2;
  for (int round = 0; round < 3; ++round)
    for (uint32_t v : values) {
      if (round != 1) a = v;  // (the first compare's bytes; round 1 leaves them)
      if (round != 0) b = v + 1;  // (the overlapping last compare's)
      write_fn(a, b);
      ASSERT_EQ(call(), StopReason::Syscall);
      EXPECT_EQ(m.cpu.gpr[RAX], uint32_t(a + b)) << "round " << round << " value " << std::hex << v;
    }
  EXPECT_EQ(e.stats().smc_write_faults, uint64_t(jit::SharedCode::kCheckAfterFaults));
  EXPECT_GE(e.stats().checked_stale, 20u);
}

// Flags of a CF|OF write (rol, imul) over the same block's full flags write (xor), entered with
// an earlier block's flags still lazy: the block leaves both layers (the xor's recipe, the
// rotate's CF and OF) without settling the older flags. Exact at the exit, at a side exit, and
// at a fault after them (the sync record's base recipe), against the interpreter.
TEST(JitCheckedPages, CfOfWriteOverTheBlocksOwnFlagsMatchesInterpreter) {
  const Code head = {0x01, 0xD1, 0xE8, 0x00, 0x00, 0x00, 0x00};  // add ecx, edx ; call +0
  const Code xor_imm = {0x35, 0x6F, 0x7D, 0xBD, 0x99};            // xor eax, 0x99BD7D6F
  const std::vector<Code> tails = {
      {0xC1, 0xC0, 0x05},                                    // rol eax, 5
      {0xD1, 0xC0},                                          // rol eax, 1
      {0xC1, 0xC8, 0x1F},                                    // ror eax, 31
      {0x6B, 0xC1, 0x07},                                    // imul eax, ecx, 7
      {0xC1, 0xC0, 0x03, 0x72, 0x02, 0xFF, 0xC1},            // rol eax, 3 ; jc +2 ; inc ecx
      {0xC1, 0xC0, 0x05, 0x89, 0x07},                        // rol eax, 5 ; mov [rdi], eax
      {0xC1, 0xC0, 0x05, 0xC1, 0xC0, 0x07, 0x89, 0x07},      // rol eax, 5 ; rol eax, 7 ; mov [rdi], eax
  };
  for (size_t t = 0; t < tails.size(); ++t)
    for (uint64_t seed = 1; seed <= 30; ++seed) {
      CpuState s = random_state(seed);
      if (seed % 2) s.gpr[RDI] = kData + 0x100;  // (else a fault at the store, if there is one)
      if (seed % 5 == 0) s.gpr[RAX] = 0x99BD7D6F;  // (xor gives 0)
      Pair p;
      p.run(cat({head, xor_imm, tails[t], kSyscall}), s);
      SCOPED_TRACE(testing::Message() << "tail " << t << " seed " << seed);
      EXPECT_EQ(p.jit_fallbacks, 0u);
      p.expect_same();
    }
}

// A rotate's CF and OF left as a value are captured without pushfq (flag_state.cpp,
// cf_of_to_r11: seto, adc, imul into rflags' places). Every operand size, counts of 1, 3,
// width - 1 and 16 (a byte or a word rotated by 16: the value is unchanged, CF and OF are
// still written) or half the width, operands giving each CF/OF pair; the rotate alone, over the
// block's own xor, read back in the block by pushfq, and before a branch on OF.
TEST(JitCheckedPages, RotateCfOfCapturedWithoutPushfqMatchesInterpreter) {
  struct Size {
    Code prefix;
    unsigned bits;
  };
  const Size sizes[] = {{{}, 8}, {{0x66}, 16}, {{}, 32}, {{0x48}, 64}};
  const Code xor_imm = {0x35, 0x6F, 0x7D, 0xBD, 0x99};  // xor eax, 0x99BD7D6F
  const Code read_back = {0x9C, 0x5A};                  // pushfq ; pop rdx
  const Code branch_of = {0x70, 0x02, 0xFF, 0xC1};      // jo +2 ; inc ecx
  const uint64_t values[] = {0, 1, 0x80, 0x81, 0x8000, 0x4001, 0x80000000, 0x40000001,
                             0x8000000000000000, 0xC000000000000001, 0x123456789ABCDEF0};
  for (const Size& z : sizes)
    for (uint8_t modrm : {uint8_t(0xC0), uint8_t(0xC8)})  // rol, ror (eax/ax/al/rax)
      for (unsigned count : {1u, 3u, z.bits - 1, z.bits <= 16 ? 16u : z.bits / 2}) {
        Code rot = z.prefix;
        rot.insert(rot.end(), {uint8_t(z.bits == 8 ? 0xC0 : 0xC1), modrm, uint8_t(count)});
        for (const Code& before : {Code{}, xor_imm})
          for (const Code& after : {Code{}, read_back, branch_of})
            for (uint64_t v : values) {
              CpuState s = random_state(v + count);
              s.gpr[RAX] = v;
              Pair p;
              p.run(cat({before, rot, after, kSyscall}), s);
              SCOPED_TRACE(testing::Message() << z.bits << "-bit " << (modrm == 0xC0 ? "rol" : "ror") << " by "
                                              << count << " of " << std::hex << v << " after "
                                              << before.size() << " bytes, then " << after.size());
              p.expect_same();
            }
      }
}

}  // namespace
}  // namespace vireo::test
