// Checked pages (docs/jit.md, "Checked pages"): a code page that keeps taking write faults for
// new code written next to its translated code stops being write-protected, for every thread,
// and the blocks translated from it verify their guest bytes at entry.
#include <sys/mman.h>

#include "jit/cache/shared_code.h"
#include "jit/frontend/translator.h"
#include "jit_harness.h"

namespace vireo::test {
namespace {

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

}  // namespace
}  // namespace vireo::test
