// The random-code mode of vireo-difftest (random_code.cpp).
#pragma once

#include <cstdint>
#include <string>

namespace vireo::difftest {

struct RandomCodeOptions {
  std::string engine = "interp";
  uint64_t seed = 1;
  uint64_t count = 1000;       // cases
  long only_case = -1;         // replay one case
  unsigned max_reports = 20;
  bool verbose = false;
};

// Runs `count` random-code cases natively and on the engine; returns the mismatch count.
uint64_t run_random_code(const RandomCodeOptions& o);

}  // namespace vireo::difftest
