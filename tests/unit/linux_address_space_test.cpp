// AddressSpace: Linux-style mmap/munmap/mprotect/mremap/brk inside the guest window.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>

#include "mem/address_space.h"

namespace vireo {
namespace {

constexpr int kRW = PROT_READ | PROT_WRITE;
constexpr int kAnon = MAP_PRIVATE | MAP_ANONYMOUS;

TEST(LinuxAddressSpace, MmapWithoutHintIsTopDownBelowMmapTop) {
  AddressSpace as;
  int64_t a = as.mmap(0, 10000, kRW, kAnon, -1, 0);
  ASSERT_GT(a, 0);
  EXPECT_EQ(uint64_t(a) % 4096, 0u);
  EXPECT_EQ(uint64_t(a) + 12288, AddressSpace::kMmapTop);  // length rounded up to pages
  int64_t b = as.mmap(0, 4096, kRW, kAnon, -1, 0);
  EXPECT_EQ(b, a - 4096);  // next one just below
  EXPECT_TRUE(as.is_mapped(uint64_t(a), 12288, kRW));
  std::memset(as.host(uint64_t(a)), 0xAB, 12288);  // really backed by host memory
}

TEST(LinuxAddressSpace, FixedAndNoReplaceAndArgumentErrors) {
  AddressSpace as;
  EXPECT_EQ(as.mmap(0x100000, 8192, kRW, kAnon | MAP_FIXED, -1, 0), 0x100000);
  EXPECT_EQ(as.mmap(0x101000, 4096, kRW, kAnon | MAP_FIXED_NOREPLACE, -1, 0), -EEXIST);
  EXPECT_EQ(as.mmap(0x100800, 4096, kRW, kAnon | MAP_FIXED, -1, 0), -EINVAL);  // unaligned
  EXPECT_EQ(as.mmap(0, 0, kRW, kAnon, -1, 0), -EINVAL);                        // empty
  EXPECT_EQ(as.mmap(0, 4096, kRW, kAnon, -1, 100), -EINVAL);                   // bad offset
  EXPECT_EQ(as.mmap(AddressSpace::kWindowSize - 4096, 8192, kRW, kAnon | MAP_FIXED, -1, 0), -ENOMEM);
  // A hint that is free is taken as is.
  EXPECT_EQ(as.mmap(0x200000, 4096, kRW, kAnon, -1, 0), 0x200000);
}

TEST(LinuxAddressSpace, MunmapSplitsAndMprotectNeedsMappedPages) {
  AddressSpace as;
  ASSERT_EQ(as.mmap(0x100000, 3 * 4096, kRW, kAnon | MAP_FIXED, -1, 0), 0x100000);
  EXPECT_EQ(as.munmap(0x101000, 4096), 0);
  EXPECT_TRUE(as.is_mapped(0x100000, 4096));
  EXPECT_FALSE(as.is_mapped(0x101000, 1));
  EXPECT_TRUE(as.is_mapped(0x102000, 4096));
  EXPECT_FALSE(as.is_mapped(0x100000, 3 * 4096));
  EXPECT_EQ(as.munmap(0x100001, 4096), -EINVAL);
  EXPECT_EQ(as.mprotect(0x100000, 3 * 4096, PROT_READ), -ENOMEM);  // hole in the middle
  EXPECT_EQ(as.mprotect(0x102000, 4096, PROT_READ), 0);
  EXPECT_TRUE(as.is_mapped(0x102000, 4096, PROT_READ));
  EXPECT_FALSE(as.is_mapped(0x102000, 4096, PROT_WRITE));
  EXPECT_EQ(as.run_end(0x100000), 0x101000u);  // mapped: end of its mapping
  EXPECT_EQ(as.run_end(0x101000), 0x102000u);  // hole: start of the next mapping
}

TEST(LinuxAddressSpace, MremapGrowsInPlaceOrMovesKeepingContents) {
  AddressSpace as;
  ASSERT_EQ(as.mmap(0x100000, 4096, kRW, kAnon | MAP_FIXED, -1, 0), 0x100000);
  std::memcpy(as.host(0x100000), "abc", 4);
  EXPECT_EQ(as.mremap(0x100000, 4096, 8192, 0, 0), 0x100000);  // room above: in place
  EXPECT_TRUE(as.is_mapped(0x100000, 8192, kRW));
  ASSERT_EQ(as.mmap(0x102000, 4096, kRW, kAnon | MAP_FIXED, -1, 0), 0x102000);
  EXPECT_EQ(as.mremap(0x100000, 8192, 16384, 0, 0), -ENOMEM);  // blocked, may not move
  int64_t moved = as.mremap(0x100000, 8192, 16384, MREMAP_MAYMOVE, 0);
  ASSERT_GT(moved, 0);
  EXPECT_NE(moved, 0x100000);
  EXPECT_STREQ(reinterpret_cast<char*>(as.host(uint64_t(moved))), "abc");
  EXPECT_FALSE(as.is_mapped(0x100000, 1));  // the old place is free again
  EXPECT_EQ(as.mremap(uint64_t(moved), 16384, 4096, 0, 0), moved);  // shrink
  EXPECT_FALSE(as.is_mapped(uint64_t(moved) + 4096, 1));
  EXPECT_EQ(as.mremap(0x500000, 4096, 8192, MREMAP_MAYMOVE, 0), -EFAULT);  // nothing there
}

// A second view of a shared page (the vDSO's data page of an image exec'd in place): the
// same bytes both ways, the guest's protection, recorded as shared memory; a private mapping
// (which mremap cannot duplicate: the place is left unmapped) and a place outside the window
// are refused.
TEST(LinuxAddressSpace, SharedViewIsTheSamePageWithTheGuestsProtection) {
  AddressSpace as;
  void* view = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(view, MAP_FAILED);
  ASSERT_EQ(as.mmap(0x100000, 2 * 4096, kRW, kAnon | MAP_FIXED, -1, 0), 0x100000);
  ASSERT_EQ(as.map_shared_view(0x100000, view, 4096, PROT_READ), 0x100000);
  std::memcpy(view, "clock", 6);
  EXPECT_STREQ(reinterpret_cast<const char*>(as.host(0x100000)), "clock");
  EXPECT_TRUE(as.is_mapped(0x100000, 4096, PROT_READ));
  EXPECT_FALSE(as.is_mapped(0x100000, 4096, PROT_WRITE));
  EXPECT_TRUE(as.is_mapped(0x101000, 4096, kRW));  // (the rest of the placeholder stays)
  bool shared = false;
  for (const auto& m : as.mappings())
    if (m.start == 0x100000) shared = m.origin.shared && m.end == 0x101000;
  EXPECT_TRUE(shared);
  void* priv = ::mmap(nullptr, 4096, kRW, kAnon, -1, 0);
  ASSERT_NE(priv, MAP_FAILED);
  EXPECT_LT(as.map_shared_view(0x101000, priv, 4096, PROT_READ), 0);
  EXPECT_FALSE(as.is_mapped(0x101000, 1));  // (unmapped, as the host left it)
  EXPECT_EQ(as.mmap(0x101000, 4096, kRW, kAnon | MAP_FIXED_NOREPLACE, -1, 0), 0x101000);
  EXPECT_EQ(as.map_shared_view(AddressSpace::kWindowSize, view, 4096, PROT_READ), -EINVAL);
  ::munmap(priv, 4096);
  ::munmap(view, 4096);
}

TEST(LinuxAddressSpace, BrkGrowsShrinksAndRefusesToOverlap) {
  AddressSpace as;
  as.set_brk_start(0x600123);
  EXPECT_EQ(as.brk(0), 0x600123u);  // query
  EXPECT_EQ(as.brk(0x610000), 0x610000u);
  EXPECT_TRUE(as.is_mapped(0x601000, 0xF000, kRW));
  as.host(0x60FFFF)[0] = 1;
  EXPECT_EQ(as.brk(0x500000), 0x610000u);  // below the start: unchanged
  EXPECT_EQ(as.brk(0x602000), 0x602000u);  // shrink unmaps the tail
  EXPECT_FALSE(as.is_mapped(0x603000, 1));
  ASSERT_EQ(as.mmap(0x700000, 4096, kRW, kAnon | MAP_FIXED, -1, 0), 0x700000);
  EXPECT_EQ(as.brk(0x800000), 0x602000u);  // would run into a mapping: refused
}

}  // namespace
}  // namespace vireo
