// The interpreter's decode cache (interp/interpreter.h): the jit's tier's index starts small and
// grows once it has missed often, keeping what it had decoded; entries live in a pool in the
// order they were first run; a full pool is overwritten oldest first; every hit is checked
// against the bytes in memory.
#include <gtest/gtest.h>

#include <sys/mman.h>

#include "interp/pool_head.h"
#include "jit_harness.h"

namespace vireo::test {
namespace {

// Whether the host knows MADV_POPULATE_WRITE (Linux 5.14): without it the pool's pages fault
// as they are written.
bool has_populate_write() {
  void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  const bool known = p != MAP_FAILED && ::madvise(p, 4096, MADV_POPULATE_WRITE) == 0;
  if (p != MAP_FAILED) ::munmap(p, 4096);
  return known;
}

TEST(InterpDecodeCache, GrowsAfterManyMissesAndKeepsItsEntries) {
  // 9,000 one-byte nops then syscall: 9,001 distinct instructions, each a compulsory miss in
  // a 2,048-entry table, which grows to 16,384 entries at its 8,192nd miss. The interp
  // engine's (0) starts at 2,048 slots too.
  constexpr size_t kNops = 9000;
  std::vector<uint8_t> code(kNops, 0x90);
  code.insert(code.end(), {0x0F, 0x05});
  for (size_t slots : {size_t(0), size_t(2048)}) {
    Machine m;
    m.load(code);
    Interpreter in(m.as.memory(), slots);
    EXPECT_EQ(in.decode_cache_entries(), 2048u);
    ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
    EXPECT_EQ(in.decode_misses(), kNops + 1);
    EXPECT_EQ(in.decode_cache_entries(), 16384u);
    // Again: every instruction hits. The first through the grown index (which points at every
    // entry of the pool), the rest as the entry after the one before, in the pool.
    const uint64_t before = in.decode_misses();
    m.cpu.rip = kCode;
    ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
    EXPECT_EQ(in.decode_misses() - before, 0u);
  }
}

TEST(InterpDecodeCache, RewrittenCodeIsDecodedAgain) {
  // add eax, 1 ; syscall — then the add's immediate is rewritten: the entry (found as the
  // pool's next entry or through the index) no longer matches memory and is decoded again.
  Machine m;
  m.load({0x83, 0xC0, 0x01, 0x0F, 0x05});
  Interpreter in(m.as.memory());
  m.cpu.gpr[RAX] = 0;
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(m.cpu.gpr[RAX], 1u);
  EXPECT_EQ(in.decode_misses(), 2u);
  m.as.host(kCode)[2] = 0x05;
  m.cpu.rip = kCode;
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(m.cpu.gpr[RAX], 6u);
  EXPECT_EQ(in.decode_misses(), 3u);  // the add again; the syscall still hits
}

TEST(InterpDecodeCache, CodeMadeNonExecutableFaultsAgain) {
  // After invalidate() (the guest's mprotect or munmap), a cached entry is not used: the
  // fetch is done again and sees the page's protection.
  Machine m;
  m.load({0x90, 0x0F, 0x05});
  Interpreter in(m.as.memory());
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  ASSERT_EQ(m.as.mprotect(kCode, 4096, PROT_READ), 0);
  in.invalidate(kCode, 4096);
  m.cpu.rip = kCode;
  ASSERT_EQ(in.run(m.cpu), StopReason::Fault);
  EXPECT_EQ(m.cpu.fault.vector, VEC_PF);
  EXPECT_EQ(m.cpu.rip, kCode);
}

// A function F (inc edx ; ret) called from three sites per iteration, ten iterations: its
// `ret` has three successors, and the pool's next entry and the successor hint hold two of
// them, so the third return address is found through the index. The third call site is at
// `far`, so its return address is `far + 5`:
//   0x000: mov ecx, 10 ; L: call F ; call F ; jmp far
//   far:   call F ; dec ecx ; jnz L ; syscall
//   0x100: F
std::vector<uint8_t> three_call_sites(uint32_t far) {
  std::vector<uint8_t> code(0x1000, 0x90);
  auto put = [&](uint32_t at, std::vector<uint8_t> bytes) { std::copy(bytes.begin(), bytes.end(), code.begin() + at); };
  auto rel = [&](uint32_t at, uint32_t next, uint32_t target) {
    const int32_t r = int32_t(target - next);
    std::memcpy(&code[at], &r, 4);
  };
  put(0x000, {0xB9, 10, 0, 0, 0, 0xE8, 0, 0, 0, 0, 0xE8, 0, 0, 0, 0, 0xE9, 0, 0, 0, 0});
  rel(0x006, 0x00A, 0x100);
  rel(0x00B, 0x00F, 0x100);
  rel(0x010, 0x014, far);
  put(far, {0xE8, 0, 0, 0, 0, 0xFF, 0xC9, 0x0F, 0x85, 0, 0, 0, 0, 0x0F, 0x05});
  rel(far + 1, far + 5, 0x100);
  rel(far + 9, far + 13, 0x005);
  put(0x100, {0xFF, 0xC2, 0xC3});
  return code;
}

TEST(InterpDecodeCache, EachInstructionIsDecodedOnce) {
  // 10 distinct instructions: every later fetch hits (the next entry in the pool, a successor
  // hint or the index).
  Machine m;
  m.load(three_call_sites(0x84A));
  Interpreter in(m.as.memory(), 2048);
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(m.cpu.gpr[RDX], 30u);
  EXPECT_EQ(in.decode_misses(), 10u);
}

TEST(InterpDecodeCache, AConflictInTheIndexCostsADecodeNotCorrectness) {
  // The third return address 2,048 bytes after the second (0x00F and 0x80F): one slot of a
  // 2,048-slot index. From the second iteration on the `ret` finds the other one's entry there
  // on both, and decodes them again.
  Machine m;
  m.load(three_call_sites(0x80A));
  Interpreter in(m.as.memory(), 2048);
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(m.cpu.gpr[RDX], 30u);
  EXPECT_EQ(in.decode_misses(), 10u + 9u * 2u);
}

// 100 nops then syscall, in a pool of 64 entries.
constexpr size_t kSmallPool = 64;
std::vector<uint8_t> nops_then_syscall() {
  std::vector<uint8_t> code(100, 0x90);
  code.insert(code.end(), {0x0F, 0x05});
  return code;
}

TEST(InterpDecodeCache, AFullPoolIsOverwrittenOldestFirst) {
  Machine m;
  m.load(nops_then_syscall());
  Interpreter in(m.as.memory(), 0, kSmallPool);
  EXPECT_EQ(in.decode_pool_entries(), kSmallPool);
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(in.decode_misses(), 101u);
  // The last 64 decoded (nops 37..99 and the syscall) are still there, across the pool's end.
  m.cpu.rip = kCode + 40;
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(in.decode_misses(), 101u);
  // The first ones were overwritten: decoded again, and the run is the same.
  m.cpu.rip = kCode;
  const uint64_t insns = m.cpu.insn_count;
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(m.cpu.insn_count - insns, 101u);
  EXPECT_GT(in.decode_misses(), 101u + 36u);
  EXPECT_EQ(m.cpu.rip, kCode + 102);
}

TEST(InterpDecodeCache, TheTiersFullPoolIsOverwrittenOldestFirstToo) {
  // The jit's tier: at the 65th decode the pool wraps and overwrites nops 0..36, so nops 37..99
  // and the syscall are left; a run from nop 60 decodes nothing (it was emptied at once until
  // the counts carried their wrap: then nops 60..63 were decoded again).
  Machine m;
  m.load(nops_then_syscall());
  Interpreter in(m.as.memory(), 2048, kSmallPool);
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(in.decode_misses(), 101u);
  m.cpu.rip = kCode + 60;
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(in.decode_misses(), 101u);
  m.cpu.rip = kCode + 10;
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  // Nops 10..36 are decoded into the entries of 37..63, which are then decoded into those of
  // 64..99 and the syscall, and so on: a run longer than the pool decodes all of it.
  EXPECT_EQ(in.decode_misses(), 101u + 91u);
  EXPECT_EQ(m.cpu.rip, kCode + 102);
}

TEST(InterpDecodeCache, ATierPoolThatKeepsWrappingGrowsAndKeepsItsEntries) {
  // The tier's pool of 64 entries, mapped for 128 (grow_pool): runs of 101 decodes (nops
  // 0..99 and the syscall, each run overwriting what the one before left of them) fill it
  // again and again. The first 5 times it wraps; the 6th time (Interpreter::kGrowAfterWraps)
  // it doubles instead, and from then on all 101 fit: a run decodes nothing and it no longer
  // wraps. The interp engine's pool of 64 (mapped for 64) keeps wrapping.
  for (bool tier : {true, false}) {
    Machine m;
    m.load(nops_then_syscall());
    Interpreter in(m.as.memory(), tier ? 2048 : 0, kSmallPool, tier ? 2 * kSmallPool : 0);
    int runs = 0;
    for (; runs < 20 && in.decode_pool_entries() == kSmallPool; ++runs) {
      if (tier) EXPECT_LT(in.decode_pool_wraps(), 5u);  // (it grows at the 6th fill)
      m.cpu.rip = kCode;
      ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
    }
    if (!tier) {
      EXPECT_EQ(in.decode_pool_entries(), kSmallPool);
      EXPECT_GT(in.decode_pool_wraps(), 20u);  // (~1.6 a run)
      continue;
    }
    ASSERT_EQ(in.decode_pool_entries(), 2 * kSmallPool);
    EXPECT_EQ(in.decode_pool_wraps(), 5u);
    // The run that grew it decoded the rest of the 101 into the new entries; the next runs
    // decode nothing, and every instruction still runs.
    for (int again = 0; again < 3; ++again) {
      const uint64_t misses = in.decode_misses(), insns = m.cpu.insn_count;
      m.cpu.rip = kCode;
      ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
      EXPECT_EQ(m.cpu.insn_count - insns, 101u);
      if (again) EXPECT_EQ(in.decode_misses(), misses) << again;
    }
    EXPECT_EQ(in.decode_pool_wraps(), 5u);
    EXPECT_EQ(in.decode_pool_entries(), 2 * kSmallPool);
    // Entries on both sides of the old end are found by cached_decode (the index).
    const uint8_t* bytes = m.as.host(kCode);
    for (uint64_t at : {0u, 50u, 99u, 100u}) EXPECT_NE(in.cached_decode(kCode + at, bytes + at, 15), nullptr) << at;
  }
}

// Which of `pages` 4 KiB pages from `at` are resident (mincore).
std::vector<bool> resident(const void* at, size_t pages) {
  std::vector<unsigned char> v(pages);
  EXPECT_EQ(::mincore(const_cast<void*>(at), pages * 4096, v.data()), 0);
  std::vector<bool> r(pages);
  for (size_t i = 0; i < pages; ++i) r[i] = v[i] & 1;
  return r;
}

TEST(InterpDecodeCache, ThePoolsHeadIsPrefaultedAChunkAtATime) {
  // A static program's pool (set_decode_pool_head, Process::load_image): its first kPoolHead
  // bytes are on 4 KiB pages, written in by one madvise per kPoolChunk as the decodes reach
  // them; the rest starts on a 2 MiB boundary (where huge pages may back it). Nops then
  // syscall, in the engine's and the tier's default pools: nothing is resident before the
  // first decode; after 4,001 decodes (500 KB) exactly the chunks the entries reach are (and no
  // page past them). A dynamic program's pool (head 0) starts on a 2 MiB boundary.
  {
    set_decode_pool_head(0);
    Machine m;
    Interpreter in(m.as.memory(), 2048);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(in.decode_pool()) % (size_t(2) << 20), 0u);
  }
  set_decode_pool_head(Interpreter::kPoolHead);
  if (!has_populate_write()) GTEST_SKIP() << "no MADV_POPULATE_WRITE on this host";
  constexpr size_t kNops = 4000;
  std::vector<uint8_t> code(kNops, 0x90);
  code.insert(code.end(), {0x0F, 0x05});
  constexpr size_t kPages = Interpreter::kPoolHead / 4096;
  for (size_t slots : {size_t(0), size_t(2048)}) {
    Machine m;
    m.load(code);
    Interpreter in(m.as.memory(), slots);
    const auto* pool = static_cast<const char*>(in.decode_pool());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(pool + Interpreter::kPoolHead) % (size_t(2) << 20), 0u);
    for (bool r : resident(pool, kPages)) EXPECT_FALSE(r);
    ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
    const size_t written = (kNops + 1) * Interpreter::decode_entry_bytes();
    const size_t chunks = (written + Interpreter::kPoolChunk - 1) / Interpreter::kPoolChunk;
    ASSERT_LT(chunks * Interpreter::kPoolChunk, Interpreter::kPoolHead);
    const std::vector<bool> r = resident(pool, kPages);
    for (size_t i = 0; i < kPages; ++i) EXPECT_EQ(r[i], i < chunks * Interpreter::kPoolChunk / 4096) << slots << " " << i;
  }
}

TEST(InterpDecodeCache, AnIndexSlotTellsWhichRipItHolds) {
  // The index keeps a tag of the rip beside each entry's address. Nops 0..100 and the syscall
  // in a pool of 64: nop 10's slot (of 2,048) still holds nop 10's tag, but its entry has
  // since been overwritten by nop 74; nop 2,058 would share nop 10's slot and has another tag.
  Machine m;
  m.load(nops_then_syscall());
  Interpreter in(m.as.memory(), 2048, kSmallPool);
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  const uint8_t* bytes = m.as.host(kCode);
  EXPECT_EQ(in.cached_decode(kCode + 10, bytes + 10, 15), nullptr);  // (the entry: nop 74's)
  const Insn* live = in.cached_decode(kCode + 74, bytes + 74, 15);
  ASSERT_NE(live, nullptr);
  EXPECT_EQ(live->mnemonic, ZYDIS_MNEMONIC_NOP);
  EXPECT_EQ(in.cached_decode(kCode + 74 + 2048, bytes + 74, 15), nullptr);  // same slot, other tag
  ASSERT_NE(in.cached_decode(kCode + 100, bytes + 100, 15), nullptr);
  // Run again from nop 10: decoded again (92 decodes, the pool wraps), the same instructions run.
  m.cpu.rip = kCode + 10;
  const uint64_t insns = m.cpu.insn_count;
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(m.cpu.insn_count - insns, 91u);
  EXPECT_EQ(in.cached_decode(kCode + 10, bytes + 10, 15), nullptr);  // (overwritten again)
  EXPECT_NE(in.cached_decode(kCode + 60, bytes + 60, 15), nullptr);
}

TEST(InterpDecodeCache, InvalidatingARangeDropsOnlyItsEntries) {
  // nop ; nop ; nop ; syscall
  for (bool tier : {false, true}) {
    Machine m;
    m.load({0x90, 0x90, 0x90, 0x0F, 0x05});
    Interpreter in(m.as.memory(), tier ? 2048 : 0);
    ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
    EXPECT_EQ(in.decode_misses(), 4u);
    in.invalidate(kCode + 1, 1);  // one instruction
    m.cpu.rip = kCode;
    ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
    EXPECT_EQ(in.decode_misses(), 5u);
    in.invalidate(kData, 4096);  // a page without code
    m.cpu.rip = kCode;
    ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
    EXPECT_EQ(in.decode_misses(), 5u);
    in.invalidate(kCode, 4096);  // the page
    m.cpu.rip = kCode;
    ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
    EXPECT_EQ(in.decode_misses(), 9u);
  }
}

TEST(InterpDecodeCache, CodeThatRewritesItselfRunsItsNewBytes) {
  // mov ecx, 3 ; xor eax, eax ; L: add eax, 1 ; inc byte [the add's immediate] ; dec ecx ;
  // jnz L ; syscall: the add adds 1, 2, then 3, its entry rejected at each new immediate.
  for (size_t pool : {size_t(0), kSmallPool, size_t(4)}) {
    Machine m;
    m.load({0xB9, 3, 0, 0, 0, 0x31, 0xC0, 0x83, 0xC0, 0x01, 0xFE, 0x05, 0xF9, 0xFF, 0xFF, 0xFF,
            0xFF, 0xC9, 0x75, 0xF3, 0x0F, 0x05});
    Interpreter in(m.as.memory(), 0, pool);
    ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
    EXPECT_EQ(m.cpu.gpr[RAX], 6u) << "pool " << pool;
    EXPECT_EQ(m.as.host(kCode)[9], 4u);
    if (pool == 0) EXPECT_EQ(in.decode_misses(), 7u + 2u);  // the add twice more
  }
}

}  // namespace
}  // namespace vireo::test
