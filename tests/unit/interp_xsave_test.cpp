// The XSAVE family and XGETBV on the interpreter and the JIT, against the host running the same
// instructions on the same state and the same bytes in memory (EDX:EAX = 3: the x87 and SSE
// components, which every XSAVE host has; this host's XCR0 has more, but RFBM masks them).
#include <cpuid.h>
#include <gtest/gtest.h>

#include <random>

#include "cpu/cpuid.h"
#include "native_cases.h"

namespace vireo::test {
namespace {

class Xsave : public ::testing::TestWithParam<Engine> {};

bool host_has_xsavec() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return false;  // OSXSAVE
  __cpuid_count(0xD, 1, a, b, c, d);
  return (a & 3) == 3;  // XSAVEOPT and XSAVEC
}

// Offsets in the data area (guest 0x20000, host buffer alike).
constexpr unsigned kLegacy = 0, kRestoreImage = 0x1000, kStd = 0x2000, kOpt = 0x2400, kCmp = 0x2800,
                   kFx = 0x3000, kInitImage = 0x3400, kCmpInit = 0x3800, kOptInit = 0x3C00, kSize = 0x4000;

// A legacy (FXSAVE) image of a state with every field away from its initial value, except the
// x87 pointers: AMD saves FIP/FDP/FOP only with an exception pending.
void random_legacy(std::mt19937_64& rng, uint8_t* img, uint32_t mxcsr) {
  std::memset(img, 0, 512);
  uint16_t fcw = uint16_t(0x037F ^ (rng() & 0x0C00)), fsw = uint16_t(((rng() % 8) << 11) | 0x0100);
  std::memcpy(img, &fcw, 2);
  std::memcpy(img + 2, &fsw, 2);
  img[4] = uint8_t(rng() | 1);  // abridged tags: some registers valid
  std::memcpy(img + 24, &mxcsr, 4);
  for (int i = 0; i < 8; ++i)
    for (int k = 0; k < 10; ++k) img[32 + 16 * i + k] = uint8_t(rng());
  for (int i = 0; i < 256; ++i) img[160 + i] = uint8_t(rng());
}

TEST_P(Xsave, MatchesHostOnTheSameStateAndMemory) {
  if (!host_has_xsavec()) GTEST_SKIP() << "host lacks XSAVEC/XSAVEOPT";
  std::mt19937_64 rng(77);
  for (int round = 0; round < 8; ++round) {
    alignas(64) static uint8_t nat[kSize];
    for (auto& b : nat) b = uint8_t(rng());
    random_legacy(rng, nat + kLegacy, 0x9FA0 | uint32_t(rng() & 0x3F));
    // The XRSTOR source: x87 from the image (XSTATE_BV = 1), SSE initialized, MXCSR loaded
    // (the standard form loads it whenever SSE is requested).
    random_legacy(rng, nat + kRestoreImage, 0x1F80 | uint32_t(rng() & 0x3F));
    std::memset(nat + kRestoreImage + 512, 0, 64);
    nat[kRestoreImage + 512] = 1;
    // The init image: XSTATE_BV = 0, MXCSR 1F80 (so that nothing stays in use).
    std::memset(nat + kInitImage + 512, 0, 64);
    uint32_t init_mxcsr = 0x1F80;
    std::memcpy(nat + kInitImage + 24, &init_mxcsr, 4);
    // The save areas' headers start zero where XRSTOR-clean images matter less than bytes
    // the instructions must leave alone: keep the random bytes elsewhere.
    std::vector<uint8_t> data(nat, nat + kSize);

    alignas(64) static uint8_t host_save[512];
    uint32_t inuse_lo = 0;
    asm volatile(
        "fxsave64 (%[save])\n\t"
        "fxrstor64 (%[p])\n\t"
        "xsave64 0x2000(%[p])\n\t"
        "xsaveopt64 0x2400(%[p])\n\t"
        "xsavec64 0x2800(%[p])\n\t"
        "xrstor64 0x1000(%[p])\n\t"
        "fxsave64 0x3000(%[p])\n\t"
        "xrstor64 0x3400(%[p])\n\t"
        "xsavec64 0x3800(%[p])\n\t"
        "xsaveopt64 0x3c00(%[p])\n\t"
        "mov $1, %%ecx\n\t"
        "xgetbv\n\t"
        "mov %%eax, %[inuse]\n\t"
        "fxrstor64 (%[save])"
        : [inuse] "=m"(inuse_lo)
        : [p] "r"(nat), [save] "r"(host_save), "a"(3), "d"(0)
        : "rcx", "memory", "cc");

    const std::vector<uint8_t> code = {
        0x48, 0x0F, 0xAE, 0x0B,                          // fxrstor64 [rbx]
        0x48, 0x0F, 0xAE, 0xA3, 0x00, 0x20, 0, 0,        // xsave64 [rbx+0x2000]
        0x48, 0x0F, 0xAE, 0xB3, 0x00, 0x24, 0, 0,        // xsaveopt64 [rbx+0x2400]
        0x48, 0x0F, 0xC7, 0xA3, 0x00, 0x28, 0, 0,        // xsavec64 [rbx+0x2800]
        0x48, 0x0F, 0xAE, 0xAB, 0x00, 0x10, 0, 0,        // xrstor64 [rbx+0x1000]
        0x48, 0x0F, 0xAE, 0x83, 0x00, 0x30, 0, 0,        // fxsave64 [rbx+0x3000]
        0x48, 0x0F, 0xAE, 0xAB, 0x00, 0x34, 0, 0,        // xrstor64 [rbx+0x3400]
        0x48, 0x0F, 0xC7, 0xA3, 0x00, 0x38, 0, 0,        // xsavec64 [rbx+0x3800]
        0x48, 0x0F, 0xAE, 0xB3, 0x00, 0x3C, 0, 0,        // xsaveopt64 [rbx+0x3c00]
        0xB9, 0x01, 0, 0, 0,                             // mov ecx, 1
        0x0F, 0x01, 0xD0,                                // xgetbv
        0x0F, 0x05};                                     // syscall
    CpuState cpu{};
    reset_user_state(cpu);
    cpu.gpr[RBX] = 0x20000;
    cpu.gpr[RAX] = 3;
    cpu.gpr[RDX] = 0;
    ASSERT_EQ(run_code(GetParam(), code, cpu, &data), StopReason::Syscall);
    EXPECT_EQ(cpu.gpr[RAX] & 3, inuse_lo & 3) << "xgetbv(1) after the init XRSTOR";
    struct Region { const char* what; unsigned off, len; } regions[] = {
        {"xsave", kStd, 0x400}, {"xsaveopt", kOpt, 0x400}, {"xsavec", kCmp, 0x400},
        {"fxsave after xrstor", kFx, 416}, {"xsavec of init state", kCmpInit, 0x400},
        {"xsaveopt of init state", kOptInit, 0x400}};
    for (const Region& r : regions)
      for (unsigned i = 0; i < r.len; ++i)
        ASSERT_EQ(data[r.off + i], nat[r.off + i]) << r.what << " byte " << i << " round " << round;
  }
}

TEST_P(Xsave, FaultsLikeTheManual) {
  std::vector<uint8_t> data(0x2000, 0);
  auto run = [&](std::vector<uint8_t> code, uint64_t rbx) {
    code.insert(code.end(), {0x0F, 0x05});
    CpuState cpu{};
    reset_user_state(cpu);
    cpu.gpr[RBX] = rbx;
    cpu.gpr[RAX] = 3;
    cpu.gpr[RCX] = 0;
    StopReason r = run_code(GetParam(), code, cpu, &data);
    return std::make_pair(r, cpu);
  };
  // Misaligned area: #GP(0).
  auto [r1, c1] = run({0x48, 0x0F, 0xAE, 0x23}, 0x20010);  // xsave64 [rbx]
  EXPECT_EQ(r1, StopReason::Fault);
  EXPECT_EQ(c1.fault.vector, VEC_GP);
  // XRSTOR of a header with a reserved byte set: #GP(0); with XSTATE_BV beyond XCR0: #GP(0).
  data[512 + 20] = 1;
  auto [r2, c2] = run({0x48, 0x0F, 0xAE, 0x2B}, 0x20000);  // xrstor64 [rbx]
  EXPECT_EQ(r2, StopReason::Fault);
  EXPECT_EQ(c2.fault.vector, VEC_GP);
  data[512 + 20] = 0;
  data[512] = 0x80;
  auto [r3, c3] = run({0x48, 0x0F, 0xAE, 0x2B}, 0x20000);
  EXPECT_EQ(r3, StopReason::Fault);
  EXPECT_EQ(c3.fault.vector, VEC_GP);
  // XGETBV with ECX beyond 1: #GP(0).
  CpuState cpu{};
  reset_user_state(cpu);
  cpu.gpr[RCX] = 2;
  EXPECT_EQ(run_code(GetParam(), {0x0F, 0x01, 0xD0, 0x0F, 0x05}, cpu), StopReason::Fault);
  EXPECT_EQ(cpu.fault.vector, VEC_GP);
  // XGETBV with ECX = 0: XCR0, as Linux enables it (the components Vireo implements).
  reset_user_state(cpu);
  ASSERT_EQ(run_code(GetParam(), {0x0F, 0x01, 0xD0, 0x0F, 0x05}, cpu), StopReason::Syscall);
  EXPECT_EQ(cpu.gpr[RAX], supported_xcr0());
  EXPECT_EQ(cpu.gpr[RDX], 0u);
}

TEST(XsaveCpuid, Leaf0DDescribesTheEnabledComponents) {
  CpuidResult l1 = cpuid(1, 0), d0 = cpuid(0xD, 0), d1 = cpuid(0xD, 1);
  ASSERT_GE(cpuid(0, 0).eax, 0xDu);
  EXPECT_TRUE(l1.ecx & cpuid_bits::XSAVE);
  EXPECT_TRUE(l1.ecx & cpuid_bits::OSXSAVE);
  EXPECT_EQ(d0.eax, supported_xcr0());
  EXPECT_EQ(d0.ebx, (supported_xcr0() & 4) ? 832u : 576u);  // legacy 512 + header 64 (+ AVX 256)
  EXPECT_EQ(d0.ecx, d0.ebx);
  EXPECT_EQ(d1.eax & 7, 7u);  // XSAVEOPT, XSAVEC, XGETBV ECX=1
  EXPECT_FALSE(d1.eax & 8);   // no XSAVES
  // System mode has no XSETBV: no XSAVE there.
  EXPECT_FALSE(cpuid(1, 0, CpuidView::System).ecx & cpuid_bits::XSAVE);
}

INSTANTIATE_TEST_SUITE_P(Engines, Xsave, ::testing::Values(Engine::Interp, Engine::Jit),
                         [](const auto& i) { return i.param == Engine::Jit ? "jit" : "interp"; });

}  // namespace
}  // namespace vireo::test
