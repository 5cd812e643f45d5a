// CPUID as guests see it: what glibc needs to size its memcpy/memset strategies.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "cpu/cpuid.h"

namespace vireo::test {
namespace {

std::string vendor() {
  CpuidResult r = cpuid(0, 0);
  char v[13] = {};
  std::memcpy(v, &r.ebx, 4);
  std::memcpy(v + 4, &r.edx, 4);
  std::memcpy(v + 8, &r.ecx, 4);
  return v;
}

// glibc reads cache sizes only for vendors it knows; with none its non-temporal threshold is
// 0 and large copies bypass the cache.
TEST(Cpuid, VendorIsOneGlibcReadsCacheSizesFor) { EXPECT_EQ(vendor(), "AuthenticAMD"); }

// AMD's cache leaves, decoded as the AMD64 APM (and glibc's handle_amd) read them.
TEST(Cpuid, AmdCacheLeavesDescribeL1L2AndL3) {
  ASSERT_GE(cpuid(0x80000000, 0).eax, 0x80000006u);
  CpuidResult l1 = cpuid(0x80000005, 0), l23 = cpuid(0x80000006, 0);
  EXPECT_EQ(l1.ecx >> 24, 32u);          // L1d KiB
  EXPECT_EQ(l1.ecx & 0xFF, 64u);         // line size
  EXPECT_EQ(l1.edx >> 24, 32u);          // L1i KiB
  EXPECT_EQ(l23.ecx >> 16, 512u);        // L2 KiB
  EXPECT_NE(l23.ecx & 0xF000, 0u);       // associativity present: the L2 is there
  EXPECT_EQ((l23.edx >> 18) * 512, 8192u);  // L3 KiB
  EXPECT_NE(l23.edx & 0xF000, 0u);
}

}  // namespace
}  // namespace vireo::test
