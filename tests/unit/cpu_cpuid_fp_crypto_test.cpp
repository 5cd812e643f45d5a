// CPUID bits of FMA3, F16C, AES-NI, PCLMULQDQ, VAES, VPCLMULQDQ and SHA-NI (issue 17): each
// advertised exactly where Vireo implements it. FMA3 and F16C run as host instructions, so
// they follow the host; the others are computed in C++ and always advertised by `--cpu max`.
#include <cpuid.h>
#include <gtest/gtest.h>

#include <string>

#include "cpu/cpuid.h"

namespace vireo::test {
namespace {

using namespace cpuid_bits;

bool host_has_fma_f16c() {
  unsigned a, b, c, d;
  return __get_cpuid(1, &a, &b, &c, &d) && (c & FMA) && (c & F16C);
}

// Puts the default model back whatever happens, for the other tests in this binary.
struct RestoreMax {
  ~RestoreMax() {
    std::string e;
    select_cpu_model("max", e);
  }
};

TEST(CpuidFpCrypto, MaxAdvertisesTheImplementedExtensions) {
  RestoreMax restore;
  std::string error;
  ASSERT_TRUE(select_cpu_model("max", error)) << error;
  const CpuidResult l1 = cpuid(1, 0), l7 = cpuid(7, 0);
  EXPECT_TRUE(l1.ecx & AES);
  EXPECT_TRUE(l1.ecx & PCLMULQDQ);
  EXPECT_TRUE(l7.ebx & SHA);
  EXPECT_TRUE(l7.ecx & VAES);
  EXPECT_TRUE(l7.ecx & VPCLMULQDQ);
  EXPECT_EQ(bool(l1.ecx & FMA), host_has_fma_f16c());
  EXPECT_EQ(bool(l1.ecx & F16C), host_has_fma_f16c());
}

TEST(CpuidFpCrypto, LowerLevelsHaveNone) {
  RestoreMax restore;
  for (const char* model : {"x86-64", "x86-64-v2"}) {
    std::string error;
    ASSERT_TRUE(select_cpu_model(model, error)) << error;
    const CpuidResult l1 = cpuid(1, 0), l7 = cpuid(7, 0);
    EXPECT_EQ(l1.ecx & (AES | PCLMULQDQ | FMA | F16C), 0u) << model;
    EXPECT_EQ(l7.ebx & SHA, 0u) << model;
    EXPECT_EQ(l7.ecx & (VAES | VPCLMULQDQ), 0u) << model;
  }
}

}  // namespace
}  // namespace vireo::test
