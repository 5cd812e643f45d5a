// The compact storage of translated blocks (issue 22, "Peak RSS"): CompactVec behaves as the
// std::vector it replaced for the operations blocks use, SlabPool reuses freed objects and
// hands out distinct, aligned ones, and blocks and exit slots come from their pools.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "jit/cache/compact_vec.h"
#include "jit/cache/slab.h"
#include "jit/cache/translated_block.h"

namespace vireo::jit {
namespace {

TEST(JitCompactVec, MatchesStdVectorUnderRandomPushesClearsAndErases) {
  std::mt19937_64 rng(22);
  CompactVec<std::pair<uint32_t, uint64_t>> v;
  std::vector<std::pair<uint32_t, uint64_t>> ref;
  for (int step = 0; step < 20000; ++step) {
    const unsigned what = rng() % 100;
    if (what < 70) {
      const std::pair<uint32_t, uint64_t> e{uint32_t(rng() % 8), rng()};
      if (what % 2) v.push_back(e); else v.emplace_back(e.first, e.second);
      ref.push_back(e);
    } else if (what < 85 && !ref.empty()) {
      const auto victim = ref[rng() % ref.size()];
      EXPECT_EQ(v.erase_value(victim), size_t(std::erase(ref, victim)));
    } else if (what < 88) {
      v.clear();
      ref.clear();
    } else if (what < 90) {
      v.reset();
      ref.clear();
      EXPECT_EQ(v.capacity(), 0u);
    }
    ASSERT_EQ(v.size(), ref.size());
    ASSERT_TRUE(std::equal(v.begin(), v.end(), ref.begin(), ref.end()));
    if (!ref.empty()) {
      EXPECT_EQ(v.front(), ref.front());
      EXPECT_EQ(v.back(), ref.back());
    }
  }
  EXPECT_EQ(sizeof(v), 8u);
}

TEST(JitCompactVec, OwnsMoveOnlyElementsAndMovesThem) {
  auto count = std::make_shared<int>(0);
  struct Counted {
    std::shared_ptr<int> c;
    explicit Counted(std::shared_ptr<int> x) : c(std::move(x)) { ++*c; }
    Counted(Counted&& o) noexcept = default;
    ~Counted() { if (c) --*c; }
  };
  {
    CompactVec<std::unique_ptr<Counted>> v;
    for (int i = 0; i < 9; ++i) v.push_back(std::make_unique<Counted>(count));  // grows 1, 2, 4, 8, 16
    EXPECT_EQ(*count, 9);
    CompactVec<std::unique_ptr<Counted>> w(std::move(v));
    EXPECT_TRUE(v.empty());
    EXPECT_EQ(w.size(), 9u);
    CompactVec<std::unique_ptr<Counted>> x;
    x = std::move(w);
    EXPECT_EQ(*count, 9);
    x.erase_value(x[3]);
    EXPECT_EQ(*count, 8);
  }
  EXPECT_EQ(*count, 0);
}

TEST(JitCompactVec, ReserveMakesRoomOnceAndKeepsTheElements) {
  CompactVec<std::pair<uint32_t, uint64_t>> v;
  v.reserve(5);  // (from nothing: room for exactly what was asked)
  EXPECT_EQ(v.capacity(), 5u);
  EXPECT_TRUE(v.empty());
  for (uint32_t i = 0; i < 3; ++i) v.emplace_back(i, uint64_t(i) * 7);
  const auto* before = &v[0];
  v.reserve(4);  // (enough room already: nothing moves)
  EXPECT_EQ(&v[0], before);
  EXPECT_EQ(v.capacity(), 5u);
  v.reserve(40);
  EXPECT_EQ(v.capacity(), 40u);
  ASSERT_EQ(v.size(), 3u);
  for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(v[i], std::make_pair(i, uint64_t(i) * 7));
  for (uint32_t i = 3; i < 41; ++i) v.emplace_back(i, uint64_t(i) * 7);  // past it: grows by doubling again
  EXPECT_EQ(v.capacity(), 80u);
  for (uint32_t i = 0; i < 41; ++i) EXPECT_EQ(v[i].second, uint64_t(i) * 7);
}

TEST(JitSlabPool, ReusesFreedObjectsAndKeepsLiveOnesDistinctAndAligned) {
  SlabPool pool(40);
  EXPECT_EQ(pool.object_size(), 48u);
  std::vector<void*> live;
  std::set<void*> seen;
  for (int i = 0; i < 5000; ++i) {
    void* p = pool.allocate();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u);
    EXPECT_TRUE(seen.insert(p).second);  // never one that is still live
    std::memset(p, 0xAB, 40);              // the whole object is usable
    live.push_back(p);
  }
  EXPECT_EQ(pool.live(), 5000u);
  const size_t chunks = pool.chunks();
  EXPECT_EQ(chunks, (5000 * 48 + SlabPool::kChunkBytes - 1) / SlabPool::kChunkBytes);
  for (size_t i = 0; i < live.size(); i += 2) {
    seen.erase(live[i]);
    pool.deallocate(live[i]);
  }
  EXPECT_EQ(pool.live(), 2500u);
  for (int i = 0; i < 2500; ++i) EXPECT_TRUE(seen.insert(pool.allocate()).second);
  EXPECT_EQ(pool.chunks(), chunks);  // the freed ones were reused, no new chunk
}

// allocate(n, out) (a jump table's exit slots under one lock) hands out what n calls of
// allocate() would have, in the same order: freed objects first, then carved ones.
TEST(JitSlabPool, AllocatingManyAtOnceIsAllocatingOneByOne) {
  SlabPool one(24), many(24);
  std::vector<void*> a, b;
  for (int i = 0; i < 3000; ++i) a.push_back(one.allocate());
  b.resize(3000);
  many.allocate(b.size(), b.data());
  for (size_t i = 0; i < a.size(); i += 3) one.deallocate(a[i]);
  for (size_t i = 0; i < b.size(); i += 3) many.deallocate(b[i]);
  std::vector<void*> a2, b2(2000);
  for (int i = 0; i < 2000; ++i) a2.push_back(one.allocate());
  many.allocate(b2.size(), b2.data());
  EXPECT_EQ(many.live(), one.live());
  EXPECT_EQ(many.chunks(), one.chunks());
  std::set<void*> seen;
  for (size_t i = 0; i < b.size(); ++i)
    if (i % 3) EXPECT_TRUE(seen.insert(b[i]).second);
  for (size_t i = 0; i < b2.size(); ++i) {
    EXPECT_TRUE(seen.insert(b2[i]).second);  // distinct from every live one
    // the same position in its pool's order as the one-by-one pool's object
    if (i < 1000) EXPECT_EQ(std::find(b.begin(), b.end(), b2[i]) - b.begin(), std::find(a.begin(), a.end(), a2[i]) - a.begin());
  }
  many.allocate(0, nullptr);  // (nothing: a table whose targets are all misses)
  EXPECT_EQ(many.live(), one.live());
}

TEST(JitBlockStorage, BlocksAndExitSlotsAreCompact) {
  // (sizes the record was cut to; a field added should be placed where it costs no padding)
  EXPECT_LE(sizeof(TranslatedBlock), 120u);
  EXPECT_EQ(sizeof(ExitSlot), 32u);
  auto tb = std::make_unique<TranslatedBlock>();
  tb->guest_code.emplace_back(0x1000, 0x1010);
  for (int i = 0; i < 3; ++i) {
    tb->exits.push_back(std::make_unique<ExitSlot>());
    tb->exits.back()->target_pc = 0x2000 + i;
  }
  EXPECT_EQ(tb->exits[2]->target_pc, 0x2002u);
  EXPECT_TRUE(tb->reads_code(0x100f, 1));
  EXPECT_FALSE(tb->reads_code(0x1010, 4));
  EXPECT_EQ(tb->guest_pages(), std::vector<uint64_t>{1});
}

// guest_pages() holds up to PageList::kInline pages inline and the rest in a vector: either
// way the pages of every range, ascending, each once (the code cache registers and removes a
// block under them, the engine protects them).
TEST(JitBlockStorage, GuestPagesAreEachPageOnceAscendingInlineOrNot) {
  for (unsigned ranges = 1; ranges <= 12; ++ranges) {
    auto tb = std::make_unique<TranslatedBlock>();
    std::vector<uint64_t> want;
    for (unsigned i = 0; i < ranges; ++i) {
      // Descending, each spanning two pages, each overlapping the one added before it.
      const uint64_t begin = 0x40000 - 0x1000 * i + 0xff0;
      tb->guest_code.emplace_back(begin, begin + 0x20);
      want.push_back(begin >> 12);
      want.push_back((begin >> 12) + 1);
    }
    tb->guest_code.emplace_back(0x80000, 0x80000);  // (an empty range has no page)
    std::sort(want.begin(), want.end());
    want.erase(std::unique(want.begin(), want.end()), want.end());
    const TranslatedBlock::PageList pages = tb->guest_pages();
    EXPECT_EQ(pages.size(), want.size()) << ranges;
    EXPECT_EQ(pages, want) << ranges;
    EXPECT_EQ(std::vector<uint64_t>(pages), want) << ranges;
  }
}

}  // namespace
}  // namespace vireo::jit

namespace vireo::jit {
namespace {

TEST(JitBlockStorage, PackingMovesCodeRangesAndExitsIntoOneBufferAndKeepsThem) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 100; ++round) {
    auto tb = std::make_unique<TranslatedBlock>();
    tb->guest_pc = 0x400000 + rng() % 0x10000;
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (unsigned i = 0, n = 1 + rng() % 4; i < n; ++i) {
      const uint64_t b = 0x400000 + rng() % 0x100000;
      ranges.emplace_back(b, b + 1 + rng() % 64);
      tb->guest_code.emplace_back(ranges.back());
    }
    std::vector<ExitSlot*> slots;
    for (unsigned i = 0, n = rng() % 5; i < n; ++i) {
      tb->exits.push_back(std::make_unique<ExitSlot>());
      tb->exits.back()->target_pc = rng();
      slots.push_back(tb->exits.back().get());
    }
    for (uint32_t off = 0, k = 0; k < 5; ++k, off += 7) tb->pc_map.emplace_back(off, tb->guest_pc + 3 * k);
    const std::vector<uint64_t> pages = tb->guest_pages();
    tb->pack_metadata();
    EXPECT_TRUE(tb->guest_code.empty());
    EXPECT_TRUE(tb->exits.empty());
    ASSERT_EQ(tb->code_range_count(), ranges.size());
    for (size_t i = 0; i < ranges.size(); ++i) EXPECT_EQ(tb->code_range(i), ranges[i]);
    ASSERT_EQ(tb->exit_count(), slots.size());
    for (size_t i = 0; i < slots.size(); ++i) EXPECT_EQ(tb->exit_at(i), slots[i]);
    EXPECT_EQ(tb->guest_pages(), pages);
    EXPECT_EQ(tb->guest_pc_at(uint64_t(tb->code) + 15), tb->guest_pc + 6);  // the pc map behind the lists
    EXPECT_TRUE(tb->reads_code(ranges[0].first, 1));
  }
}

TEST(JitBlockStorage, APackedBlockFreesItsExitSlots) {
  // Freed slots go back to the pool: a new block's slots reuse them.
  std::set<ExitSlot*> first;
  {
    auto tb = std::make_unique<TranslatedBlock>();
    for (int i = 0; i < 3; ++i) {
      tb->exits.push_back(std::make_unique<ExitSlot>());
      first.insert(tb->exits.back().get());
    }
    tb->pack_metadata();
  }
  std::set<ExitSlot*> again;
  std::vector<std::unique_ptr<ExitSlot>> hold;
  for (int i = 0; i < 3; ++i) {
    hold.push_back(std::make_unique<ExitSlot>());
    again.insert(hold.back().get());
  }
  EXPECT_EQ(first, again);
}

}  // namespace
}  // namespace vireo::jit
