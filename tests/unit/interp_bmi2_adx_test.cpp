// BMI2 (pdep pext bzhi mulx rorx sarx shlx shrx) and ADX (adcx adox) on the interpreter and the
// JIT, compared with the host executing the same instruction (the host has both; a test is
// skipped where it lacks them). The flags compared are the ones the SDM defines: BMI2 other
// than bzhi leaves RFLAGS untouched, adcx touches CF only, adox OF only.
#include <cpuid.h>
#include <gtest/gtest.h>

#include "native_cases.h"

namespace vireo::test {
namespace {

bool host_leaf7_ebx(uint32_t bit) {
  unsigned a, b, c, d;
  return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit);
}

const std::vector<Case>& bmi2_cases() {
  const uint64_t all = flag::ARITH;  // untouched: every flag must survive
  static const std::vector<Case> cases = {
      {"pdep64", {0xC4, 0xE2, 0xE3, 0xF5, 0xC1}, NATIVE("pdepq %%rcx, %%rbx, %%rax"), all},
      {"pdep32", {0xC4, 0xE2, 0x63, 0xF5, 0xC1}, NATIVE("pdepl %%ecx, %%ebx, %%eax"), all},
      {"pext64", {0xC4, 0xE2, 0xE2, 0xF5, 0xC1}, NATIVE("pextq %%rcx, %%rbx, %%rax"), all},
      {"pext32", {0xC4, 0xE2, 0x62, 0xF5, 0xC1}, NATIVE("pextl %%ecx, %%ebx, %%eax"), all},
      // bzhi: CF, ZF, SF defined, OF cleared; AF, PF undefined.
      {"bzhi64", {0xC4, 0xE2, 0xF0, 0xF5, 0xC3}, NATIVE("bzhiq %%rcx, %%rbx, %%rax"),
       flag::CF | flag::ZF | flag::SF | flag::OF},
      {"bzhi32", {0xC4, 0xE2, 0x70, 0xF5, 0xC3}, NATIVE("bzhil %%ecx, %%ebx, %%eax"),
       flag::CF | flag::ZF | flag::SF | flag::OF},
      {"sarx64", {0xC4, 0xE2, 0xF2, 0xF7, 0xC3}, NATIVE("sarxq %%rcx, %%rbx, %%rax"), all},
      {"sarx32", {0xC4, 0xE2, 0x72, 0xF7, 0xC3}, NATIVE("sarxl %%ecx, %%ebx, %%eax"), all},
      {"shlx64", {0xC4, 0xE2, 0xF1, 0xF7, 0xC3}, NATIVE("shlxq %%rcx, %%rbx, %%rax"), all},
      {"shlx32", {0xC4, 0xE2, 0x71, 0xF7, 0xC3}, NATIVE("shlxl %%ecx, %%ebx, %%eax"), all},
      {"shrx64", {0xC4, 0xE2, 0xF3, 0xF7, 0xC3}, NATIVE("shrxq %%rcx, %%rbx, %%rax"), all},
      {"shrx32", {0xC4, 0xE2, 0x73, 0xF7, 0xC3}, NATIVE("shrxl %%ecx, %%ebx, %%eax"), all},
      {"rorx64_13", {0xC4, 0xE3, 0xFB, 0xF0, 0xC3, 0x0D}, NATIVE("rorxq $13, %%rbx, %%rax"), all},
      {"rorx64_0", {0xC4, 0xE3, 0xFB, 0xF0, 0xC3, 0x00}, NATIVE("rorxq $0, %%rbx, %%rax"), all},
      {"rorx64_63", {0xC4, 0xE3, 0xFB, 0xF0, 0xC3, 0x3F}, NATIVE("rorxq $63, %%rbx, %%rax"), all},
      {"rorx32_7", {0xC4, 0xE3, 0x7B, 0xF0, 0xC3, 0x07}, NATIVE("rorxl $7, %%ebx, %%eax"), all},
      {"rorx32_31", {0xC4, 0xE3, 0x7B, 0xF0, 0xC3, 0x1F}, NATIVE("rorxl $31, %%ebx, %%eax"), all},
      // mulx hi=rax, lo=rdx, rdx * rbx; and hi and lo naming one register (hi wins).
      {"mulx64", {0xC4, 0xE2, 0xEB, 0xF6, 0xC3}, NATIVE("mulxq %%rbx, %%rdx, %%rax"), all},
      {"mulx32", {0xC4, 0xE2, 0x6B, 0xF6, 0xC3}, NATIVE("mulxl %%ebx, %%edx, %%eax"), all},
      {"mulx64_same", {0xC4, 0xE2, 0xFB, 0xF6, 0xC3}, NATIVE("mulxq %%rbx, %%rax, %%rax"), all},
  };
  return cases;
}

const std::vector<Case>& adx_cases() {
  static const std::vector<Case> cases = {
      {"adcx64", {0x66, 0x48, 0x0F, 0x38, 0xF6, 0xC3}, NATIVE("adcxq %%rbx, %%rax"), flag::ARITH},
      {"adcx32", {0x66, 0x0F, 0x38, 0xF6, 0xC3}, NATIVE("adcxl %%ebx, %%eax"), flag::ARITH},
      {"adox64", {0xF3, 0x48, 0x0F, 0x38, 0xF6, 0xC3}, NATIVE("adoxq %%rbx, %%rax"), flag::ARITH},
      {"adox32", {0xF3, 0x0F, 0x38, 0xF6, 0xC3}, NATIVE("adoxl %%ebx, %%eax"), flag::ARITH},
  };
  return cases;
}

TEST(InterpBmi2, MatchesNative) {
  if (!host_leaf7_ebx(1u << 8)) GTEST_SKIP() << "host lacks BMI2";
  run_cases(bmi2_cases(), Engine::Interp);
}

TEST(JitBmi2, MatchesNative) {
  if (!host_leaf7_ebx(1u << 8)) GTEST_SKIP() << "host lacks BMI2";
  run_cases(bmi2_cases(), Engine::Jit);
}

TEST(InterpAdx, MatchesNative) {
  if (!host_leaf7_ebx(1u << 19)) GTEST_SKIP() << "host lacks ADX";
  run_cases(adx_cases(), Engine::Interp);
}

TEST(JitAdx, MatchesNative) {
  if (!host_leaf7_ebx(1u << 19)) GTEST_SKIP() << "host lacks ADX";
  run_cases(adx_cases(), Engine::Jit);
}

}  // namespace
}  // namespace vireo::test
