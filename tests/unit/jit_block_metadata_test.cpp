// A translated block's packed fault metadata (jit/cache/block_metadata.cpp): after
// pack_metadata, every host offset finds the same guest pc and the same sync record as the
// vectors the emitter filled did.
#include <gtest/gtest.h>

#include <random>

#include "jit/cache/translated_block.h"

namespace vireo::jit {
namespace {

bool same(const SyncRecord& a, const SyncRecord& b) {
  auto recipe = [](const FlagsRecipe& x, const FlagsRecipe& y) {
    return x.op == y.op && (x.op == FlagsRecipe::None ||
                            (x.size == y.size && x.a == y.a && x.b == y.b && x.imm == y.imm));
  };
  if (a.host_offset != b.host_offset || a.host_end != b.host_end || a.gprs.size() != b.gprs.size() ||
      a.flags_reg != b.flags_reg || a.xmm_dirty != b.xmm_dirty || !recipe(a.base_recipe, b.base_recipe))
    return false;
  for (size_t i = 0; i < a.gprs.size(); ++i)
    if (a.gprs.v[i] != b.gprs.v[i]) return false;
  const bool flags = a.flags_reg >= 0 || a.flags_recipe.op != FlagsRecipe::None;
  return !flags || (a.flags_mask == b.flags_mask && (a.flags_reg >= 0 || (recipe(a.flags_recipe, b.flags_recipe) &&
                                                                          a.flags_if == b.flags_if)));
}

TEST(JitBlockMetadata, PackedPcMapAndSyncRecordsAnswerAsTheVectorsDid) {
  std::mt19937_64 rng(22);
  for (int round = 0; round < 200; ++round) {
    TranslatedBlock b;
    b.guest_pc = 0x400000 + (rng() & 0xFFFFF);
    b.code = reinterpret_cast<uint8_t*>(uintptr_t(0x7f0000000000));
    uint32_t off = 0;
    uint64_t pc = b.guest_pc;
    for (int i = 0, n = int(rng() % 80); i < n; ++i) {
      off += uint32_t(rng() % 300);
      pc += (rng() % 8 == 0) ? uint64_t(int64_t(rng() % 9000) - 4500) : rng() % 15 + 1;  // tails jump
      b.pc_map.emplace_back(off, pc);
    }
    off = uint32_t(rng() % 20);
    for (int i = 0, n = int(rng() % 60); i < n; ++i) {
      SyncRecord r;
      r.host_offset = off;
      const unsigned kind = unsigned(rng() % 4);
      r.host_end = kind == 0 ? 0 : kind == 1 ? off : off + uint32_t(rng() % 40);
      for (unsigned g = 0, ng = unsigned(rng() % 17); g < ng; ++g) r.gprs.emplace_back(uint8_t(g), uint8_t(rng() % 16));
      if (rng() % 2) {
        r.flags_mask = rng() & 0x8D5;
        if (rng() % 2) {
          r.flags_reg = int8_t(rng() % 16);
        } else {
          r.flags_recipe = {FlagsRecipe::Op(1 + rng() % 5), uint8_t(1u << (rng() % 4)), int8_t(rng() % 16),
                            int8_t(int(rng() % 17) - 1), rng() >> (rng() % 64)};
          if (rng() % 2) r.flags_if = int8_t(rng() % 16);  // a loop's carried flags
        }
      }
      if (rng() % 4 == 0) r.base_recipe = {FlagsRecipe::Sub, 4, 3, -1, 7};
      if (rng() % 3 == 0) r.xmm_dirty = uint16_t(rng());
      b.sync.push_back(r);
      off += uint32_t(rng() % 3 == 0 ? 0 : rng() % 50);  // (records may share an offset)
    }
    const uint32_t end = off + 400;
    std::vector<uint64_t> pcs;
    std::vector<std::pair<bool, SyncRecord>> recs;
    for (uint32_t o = 0; o < end; ++o) {
      pcs.push_back(b.guest_pc_at(uint64_t(b.code) + o));
      SyncRecord r;
      bool found = b.find_sync(o, r);
      recs.emplace_back(found, r);
    }
    const size_t vector_bytes = b.pc_map.size() * 16 + b.sync.size() * sizeof(SyncRecord);
    b.pack_metadata();
    EXPECT_TRUE(b.pc_map.empty());
    EXPECT_TRUE(b.sync.empty());
    if (vector_bytes) EXPECT_LT(b.packed_bytes(), vector_bytes / 2);
    for (uint32_t o = 0; o < end; ++o) {
      ASSERT_EQ(b.guest_pc_at(uint64_t(b.code) + o), pcs[o]) << "round " << round << " offset " << o;
      SyncRecord r;
      ASSERT_EQ(b.find_sync(o, r), recs[o].first) << "round " << round << " offset " << o;
      if (recs[o].first) ASSERT_TRUE(same(r, recs[o].second)) << "round " << round << " offset " << o;
    }
  }
}

// pack_metadata writes into room reserved for the most each entry can take: entries at
// their largest (every field present, every delta and value at its widest) round-trip whole.
TEST(JitBlockMetadata, EntriesAtTheirLargestRoundTrip) {
  TranslatedBlock b;
  b.guest_pc = 0x7fff'ffff'f000;
  b.code = reinterpret_cast<uint8_t*>(uintptr_t(0x7f0000000000));
  b.pc_map.emplace_back(0xFFFF'FFF0u, 0);                  // a 32-bit offset, a 47-bit step down
  b.pc_map.emplace_back(0xFFFF'FFFFu, ~uint64_t(0) >> 1);  // and a 63-bit one up
  for (int i = 0; i < 40; ++i) {
    SyncRecord r;
    r.host_offset = i == 0 ? 0 : 0xFFFF'0000u + uint32_t(i);
    r.host_end = i == 0 ? 0xFFFF'FFFFu : 0;  // the widest span
    for (unsigned g = 0; g < 16; ++g) r.gprs.emplace_back(uint8_t(g), uint8_t(15 - g));
    r.flags_mask = ~uint64_t(0);
    r.flags_recipe = {FlagsRecipe::Imul, 8, 15, -1, ~uint64_t(0)};
    r.flags_if = 14;
    r.base_recipe = {FlagsRecipe::Sub, 8, 13, 12, ~uint64_t(0)};
    r.xmm_dirty = 0xFFFF;
    b.sync.push_back(r);
  }
  std::vector<SyncRecord> before(b.sync.begin(), b.sync.end());
  b.pack_metadata();
  EXPECT_EQ(b.guest_pc_at(uint64_t(b.code) + 0xFFFF'FFF0u), 0u);
  EXPECT_EQ(b.guest_pc_at(uint64_t(b.code) + 0xFFFF'FFFFu), ~uint64_t(0) >> 1);
  for (const SyncRecord& want : before) {
    SyncRecord r;
    ASSERT_TRUE(b.find_sync(want.host_offset, r));
    if (want.host_offset == before.back().host_offset) {
      EXPECT_TRUE(same(r, want));
    }
  }
}

}  // namespace
}  // namespace vireo::jit
