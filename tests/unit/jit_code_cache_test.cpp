// The translation cache's bookkeeping (src/jit/cache/code_cache.h) on its own: the guest-pc
// table (open addressing, deletion by backward shift), the host-address index used by fault
// lookups, invalidation by guest range, and flush. Blocks here are bookkeeping only: each
// takes a few bytes of the buffer so that host addresses are real and ascending.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include <sys/mman.h>

#include "jit/cache/code_cache.h"

using vireo::jit::CodeCache;
using vireo::jit::TranslatedBlock;

namespace {

TranslatedBlock* add(CodeCache& c, uint64_t pc, uint32_t guest_bytes = 4, uint32_t host_bytes = 16) {
  auto b = std::make_unique<TranslatedBlock>();
  b->guest_pc = pc;
  b->guest_code.emplace_back(pc, pc + guest_bytes);
  b->code = c.begin();
  b->code_size = host_bytes;
  c.commit(host_bytes);
  TranslatedBlock* raw = b.get();
  c.insert(std::move(b));
  return raw;
}

}  // namespace

TEST(JitCodeCache, LooksUpWhatWasInsertedAndOnlyThat) {
  CodeCache c(1 << 20);
  EXPECT_EQ(c.lookup(0x401000), nullptr);  // empty
  TranslatedBlock* a = add(c, 0x401000);
  TranslatedBlock* b = add(c, 0x7fff00001000);
  EXPECT_EQ(c.lookup(0x401000), a);
  EXPECT_EQ(c.lookup(0x7fff00001000), b);
  EXPECT_EQ(c.lookup(0x401004), nullptr);
  EXPECT_EQ(c.block_count(), 2u);
}

// Many blocks (the table grows several times), then invalidations in a random order: every
// lookup agrees with a std::map model after each step, including the pcs whose probe chains
// ran through the removed slots (backward shift must keep them reachable).
TEST(JitCodeCache, RemovalKeepsEveryOtherBlockReachable) {
  CodeCache c(4 << 20);
  std::map<uint64_t, TranslatedBlock*> model;
  std::mt19937_64 rng(22);
  for (int i = 0; i < 6000; ++i) {
    uint64_t pc = 0x400000 + (rng() % 0x100000) * 16;  // 16-byte spaced: blocks never overlap
    if (model.count(pc)) continue;
    model[pc] = add(c, pc, 4, 8);
  }
  ASSERT_EQ(c.block_count(), model.size());
  std::vector<uint64_t> pcs;
  for (auto& [pc, b] : model) pcs.push_back(pc);
  std::shuffle(pcs.begin(), pcs.end(), rng);
  for (size_t k = 0; k < pcs.size(); ++k) {
    if (k % 3 == 0) continue;  // a third stays
    EXPECT_EQ(c.invalidate(pcs[k], 1), 1u);
    model.erase(pcs[k]);
    if (k % 97 == 0)
      for (uint64_t pc : pcs) ASSERT_EQ(c.lookup(pc), model.count(pc) ? model[pc] : nullptr) << std::hex << pc;
  }
  EXPECT_EQ(c.block_count(), model.size());
  for (uint64_t pc : pcs) EXPECT_EQ(c.lookup(pc), model.count(pc) ? model[pc] : nullptr);
}

TEST(JitCodeCache, HostAddressesFindTheirBlockUntilItIsRemoved) {
  CodeCache c(1 << 20);
  TranslatedBlock* a = add(c, 0x1000, 8, 32);
  TranslatedBlock* b = add(c, 0x2000, 8, 32);
  TranslatedBlock* d = add(c, 0x3000, 8, 32);
  auto host = [](TranslatedBlock* t, int off) { return uint64_t(reinterpret_cast<uintptr_t>(t->code)) + off; };
  EXPECT_EQ(c.block_at_host(host(a, 0)), a);
  EXPECT_EQ(c.block_at_host(host(b, 31)), b);
  EXPECT_EQ(c.block_at_host(host(d, 31)), d);
  EXPECT_EQ(c.block_at_host(host(d, 32)), nullptr);  // past the last block
  EXPECT_EQ(c.block_at_host(host(a, 0) - 1), nullptr);
  const uint64_t in_b = host(b, 5);
  EXPECT_EQ(c.invalidate(0x2004, 1), 1u);
  EXPECT_EQ(c.block_at_host(in_b), nullptr);  // its code is no block's now
  EXPECT_EQ(c.block_at_host(host(a, 31)), a);
  EXPECT_EQ(c.block_at_host(host(d, 0)), d);
  // Removing most blocks compacts the index; what is left is still found.
  EXPECT_EQ(c.invalidate(0x1000, 8), 1u);
  EXPECT_EQ(c.block_at_host(host(d, 7)), d);
  EXPECT_EQ(c.lookup(0x3000), d);
}

TEST(JitCodeCache, FlushForgetsEverythingAndStartsAtTheBufferAgain) {
  CodeCache c(1 << 20);
  uint8_t* start = c.begin();
  for (uint64_t pc = 0x1000; pc < 0x1000 + 3000 * 16; pc += 16) add(c, pc);
  EXPECT_EQ(c.block_count(), 3000u);
  c.flush();
  EXPECT_EQ(c.block_count(), 0u);
  EXPECT_EQ(c.begin(), start);
  EXPECT_EQ(c.lookup(0x1000), nullptr);
  EXPECT_TRUE(c.pages().empty());
  TranslatedBlock* again = add(c, 0x1000);
  EXPECT_EQ(c.lookup(0x1000), again);
  EXPECT_EQ(c.block_at_host(uint64_t(reinterpret_cast<uintptr_t>(start))), again);
}

// The dispatcher fills a block's jump cache slot at every entry it serves; a slot that holds
// the block already is only read, so that a forked child does not copy its parent's jump cache
// page by page. The slot's page is made read-only: a store would fault.
TEST(JitCodeCache, FillingASlotWithWhatItHoldsDoesNotWriteIt) {
  CodeCache c(1 << 20);
  TranslatedBlock* a = add(c, 0x401000);
  c.jump_cache_fill(a->guest_pc, a->code);
  auto* slot = &c.jump_cache()[CodeCache::jump_cache_index(0x401000, CodeCache::kUserJumpCacheBits)];
  ASSERT_EQ(slot->host, a->code);
  void* page = reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(slot) & ~uintptr_t(4095));
  ASSERT_EQ(mprotect(page, 4096, PROT_READ), 0);
  c.jump_cache_fill(a->guest_pc, a->code);  // (would be a SIGSEGV if it stored)
  ASSERT_EQ(mprotect(page, 4096, PROT_READ | PROT_WRITE), 0);
  EXPECT_EQ(slot->guest_pc, 0x401000u);
  EXPECT_EQ(slot->host, a->code);
  TranslatedBlock* b = add(c, 0x401000 + (uint64_t(1) << 32));  // (the same low 32 bits: its slot)
  c.jump_cache_fill(b->guest_pc, b->code);  // a different block is stored
  EXPECT_EQ(slot->guest_pc, b->guest_pc);
  EXPECT_EQ(slot->host, b->code);
}

// A destroyed cache's mapping is taken by the next cache of the same size (an engine dropped at
// an in-place execve and the new image's engine): same trampoline page, kept with its note, but
// no block, no jump cache entry, no filter bit and no byte of the old code survives.
TEST(JitCodeCache, ARecycledMappingKeepsOnlyItsTrampolines) {
  constexpr size_t kSize = 3 << 20;  // (a size no other test uses: their caches are not taken)
  uint8_t* page;
  uint8_t* code;
  {
    CodeCache c(kSize);
    page = c.trampoline_page();
    EXPECT_FALSE(c.trampolines_ready());
    page[0] = 0xC3;  // (as make_trampolines would write)
    c.set_trampolines_ready();
    TranslatedBlock* b = add(c, 0x401000, 4, 64);
    code = b->code;
    std::memset(code, 0xCC, 64);
    c.jump_cache_fill(0x401000, code);
    // Past a flush the old code stays in the buffer below the high-water mark.
    c.flush();
    add(c, 0x402000, 4, 16);
    std::memset(c.begin() - 16, 0xCC, 16);
  }
  EXPECT_EQ(CodeCache::spare_mapping(), page);
  CodeCache c(kSize);
  EXPECT_EQ(CodeCache::spare_mapping(), nullptr);
  ASSERT_EQ(c.trampoline_page(), page);
  EXPECT_TRUE(c.trampolines_ready());
  EXPECT_EQ(page[0], 0xC3);
  EXPECT_EQ(c.begin(), code);
  EXPECT_EQ(c.block_count(), 0u);
  EXPECT_EQ(c.lookup(0x401000), nullptr);
  EXPECT_EQ(c.lookup(0x402000), nullptr);
  for (size_t i = 0; i < 64; ++i) ASSERT_EQ(code[i], 0) << "stale code at +" << i;
  for (size_t i = 0; i < CodeCache::kUserJumpCacheSize; ++i) {
    const vireo::jit::JumpCacheEntry& e = c.jump_cache()[i];
    ASSERT_EQ(e.guest_pc, CodeCache::empty_jump_tag(i)) << "slot " << i;
    ASSERT_EQ(e.host, nullptr) << "slot " << i;
  }
}

TEST(JitCodeCache, AMappingOfAnotherSizeIsNotTaken) {
  uint8_t* page;
  {
    CodeCache c(5 << 20);
    page = c.trampoline_page();
  }
  ASSERT_EQ(CodeCache::spare_mapping(), page);
  CodeCache other(6 << 20);
  EXPECT_EQ(CodeCache::spare_mapping(), nullptr);  // (dropped: unmapped)
  EXPECT_FALSE(other.trampolines_ready());
  EXPECT_EQ(other.free_bytes(), size_t(6 << 20));
}

// A forked child's cache (mark_inherited) leaves its parent's blocks allocated when destroyed
// (an in-place execve), frees its own, and stops leaving any once kAbandonCap blocks are.
TEST(JitCodeCache, AForkedChildLeavesItsParentsBlocksAndFreesItsOwn) {
  const size_t before = CodeCache::abandoned_blocks();
  {
    CodeCache c(1 << 20);
    for (uint64_t pc = 0x401000; pc < 0x401000 + 3 * 64; pc += 64) add(c, pc);
    c.mark_inherited();
    add(c, 0x500000);  // (its own: freed)
    add(c, 0x500040);
    EXPECT_EQ(c.lookup(0x401000)->guest_pc, 0x401000u);  // (still blocks of the cache)
  }
  EXPECT_EQ(CodeCache::abandoned_blocks(), before + 3);
  {
    // A flush frees the inherited blocks too: nothing is left at destruction then.
    CodeCache c(1 << 20);
    add(c, 0x401000);
    c.mark_inherited();
    c.flush();
    add(c, 0x402000);
  }
  EXPECT_EQ(CodeCache::abandoned_blocks(), before + 3);
  {
    // Past the cap, inherited blocks are freed as any.
    CodeCache c(1 << 20);
    const size_t n = CodeCache::kAbandonCap - CodeCache::abandoned_blocks() + 1;
    for (size_t i = 0; i < n; ++i) add(c, 0x10000000 + 64 * i, 4, 1);
    c.mark_inherited();
  }
  EXPECT_EQ(CodeCache::abandoned_blocks(), before + 3);
}
