// The unit tests exercise every feature Vireo implements, so they run under the `max` CPU
// model rather than `vireo run`'s default (which leaves the VEX extensions out while the jit
// does not translate them; src/cpu/cpuid.cpp). Set in a test environment, after every static
// initialiser, so that the order of initialisation across files does not matter.
#include <gtest/gtest.h>

#include <string>

#include "cpu/cpuid.h"

namespace {

class MaxCpuModel : public ::testing::Environment {
 public:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(vireo::select_cpu_model("max", error)) << error;
  }
};

[[maybe_unused]] ::testing::Environment* const kMaxCpuModel =
    ::testing::AddGlobalTestEnvironment(new MaxCpuModel);

}  // namespace
