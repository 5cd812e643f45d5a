// keys_in_range: the code pages of a guest range, found by walking the range when it is short
// and by scanning the map when it is long (a read(2) of 2^40 bytes once walked 2^28 pages).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "jit/cache/page_range.h"

namespace vireo::jit {
namespace {

using Map = std::unordered_map<uint64_t, int>;

TEST(JitPageRange, ShortAndLongRangesFindTheSameKeysInOrder) {
  Map pages;
  for (uint64_t a : {uint64_t(0x1000), uint64_t(0x5000), uint64_t(0x9000), uint64_t(0x7fff0000)}) pages[a] = 1;
  // Short: walked page by page.
  EXPECT_EQ(keys_in_range(pages, 0x1000, 0x5000, 4096), (std::vector<uint64_t>{0x1000, 0x5000}));
  EXPECT_EQ(keys_in_range(pages, 0x2000, 0x4000, 4096), std::vector<uint64_t>{});
  // Long (2^36 pages): the map's keys, ascending, the same answer at once.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(keys_in_range(pages, 0, uint64_t(1) << 48, 4096),
            (std::vector<uint64_t>{0x1000, 0x5000, 0x9000, 0x7fff0000}));
  EXPECT_EQ(keys_in_range(pages, 0x6000, uint64_t(1) << 48, 4096),
            (std::vector<uint64_t>{0x9000, 0x7fff0000}));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(JitPageRange, KeysOffTheStepAndTheTopOfTheSpace) {
  Map numbers;  // page numbers (step 1)
  for (uint64_t n : {uint64_t(3), uint64_t(4), ~uint64_t(0)}) numbers[n] = 1;
  EXPECT_EQ(keys_in_range(numbers, 4, ~uint64_t(0), 1), (std::vector<uint64_t>{4, ~uint64_t(0)}));
  EXPECT_EQ(keys_in_range(numbers, ~uint64_t(0) - 2, ~uint64_t(0), 1), std::vector<uint64_t>{~uint64_t(0)});
  EXPECT_EQ(keys_in_range(numbers, 5, 4, 1), std::vector<uint64_t>{});  // (empty range)
  Map pages;  // page addresses (step 4096): a key off the step is not a page of the range
  pages[0x1000] = 1;
  pages[0x1800] = 1;
  pages[~uint64_t(4095)] = 1;
  EXPECT_EQ(keys_in_range(pages, 0x1000, 0x2000, 4096), std::vector<uint64_t>{0x1000});
  EXPECT_EQ(keys_in_range(pages, 0x1000, ~uint64_t(4095), 4096),
            (std::vector<uint64_t>{0x1000, ~uint64_t(4095)}));
}

}  // namespace
}  // namespace vireo::jit
