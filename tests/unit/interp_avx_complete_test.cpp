// AVX/AVX2 as a whole (issue 17): every AVX/AVX2 mnemonic has a handler; the #UD rules; the
// gathers against the host, and their partial completion on a fault as the SDM defines it.
// (Single instructions over random state are difftest's avx/avx2 families; the per-form
// host comparisons of the dedicated handlers are interp_avx_test.cpp.)
#include <Zydis/Zydis.h>
#include <gtest/gtest.h>

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <random>

#include "cpu/cpuid.h"
#include "cpu/host_quirks.h"
#include "interp/dispatch.h"
#include "native_cases.h"

namespace vireo::test {
namespace {

// Decodes every VEX map/opcode/pp/L/W/vvvv combination with a register and a memory (also
// VSIB) ModRM, as the list in avx_host.cpp was made: every mnemonic Zydis puts in the AVX,
// AVX2 or AVX2GATHER ISA sets must have a handler.
TEST(AvxComplete, EveryMnemonicHasAHandler) {
  ZydisDecoder d;
  ZydisDecoderInit(&d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  const DispatchTable& t = dispatch_table();
  const Handler none = t[ZYDIS_MNEMONIC_INVALID];
  int seen = 0;
  for (int map = 1; map <= 3; ++map)
    for (int op = 0; op < 256; ++op)
      for (int pp = 0; pp < 4; ++pp)
        for (int l = 0; l < 2; ++l)
          for (int w = 0; w < 2; ++w)
            for (int v : {0xF, 0xB})
              for (int modrm : {0xC1, 0x01, 0xD1, 0x11, 0xE9, 0x29, 0x0C, 0x04}) {
                uint8_t b[15] = {0xC4, uint8_t(0xE0 | map), uint8_t(w << 7 | v << 3 | l << 2 | pp),
                                 uint8_t(op), uint8_t(modrm), 0x08, 0x10, 0x10, 0x10, 0x10};
                ZydisDecodedInstruction zi;
                ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
                if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&d, b, sizeof b, &zi, zo))) continue;
                if (zi.meta.isa_set != ZYDIS_ISA_SET_AVX && zi.meta.isa_set != ZYDIS_ISA_SET_AVX2 &&
                    zi.meta.isa_set != ZYDIS_ISA_SET_AVX2GATHER)
                  continue;
                if (zi.mnemonic == ZYDIS_MNEMONIC_VPCLMULQDQ) continue;  // PCLMULQDQ's VEX form
                ++seen;
                EXPECT_NE(t[zi.mnemonic], none) << ZydisMnemonicGetString(zi.mnemonic);
              }
  EXPECT_GT(seen, 1000);
}

CpuState avx_cpu() {
  CpuState cpu{};
  reset_user_state(cpu);
  return cpu;
}

class AvxComplete : public ::testing::TestWithParam<Engine> {};

TEST_P(AvxComplete, AdvertisedAndEnabled) {
  CpuState cpu = avx_cpu();
  EXPECT_TRUE(cpuid(1, 0).ecx & cpuid_bits::AVX);
  EXPECT_TRUE(cpuid(7, 0).ebx & cpuid_bits::AVX2_BIT);
  EXPECT_EQ(cpu.xcr0, xstate::X87 | xstate::SSE | xstate::AVX);
  // Leaf 0xD: the AVX component is 256 bytes at 576; the area for XCR0 is 832 bytes.
  CpuidResult d0 = cpuid(0xD, 0), d2 = cpuid(0xD, 2);
  EXPECT_EQ(d0.eax, 7u);
  EXPECT_EQ(d0.ebx, 832u);
  EXPECT_EQ(d0.ecx, 832u);
  EXPECT_EQ(d2.eax, 256u);
  EXPECT_EQ(d2.ebx, 576u);
}

// #UD: the AVX state off in XCR0, CR4.OSXSAVE clear, VEX.L = 1 on an L0-only form, VEX.vvvv
// not 1111b where it names no register, a gather whose registers coincide.
TEST_P(AvxComplete, UndefinedOpcodeRules) {
  auto ud = [&](std::vector<uint8_t> code, CpuState cpu) {
    code.insert(code.end(), {0x0F, 0x05});
    StopReason r = run_code(GetParam(), code, cpu);
    return r == StopReason::Fault && cpu.fault.vector == VEC_UD && cpu.rip == 0x10000;
  };
  CpuState on = avx_cpu();
  CpuState no_ymm = on;
  no_ymm.xcr0 &= ~xstate::AVX;
  CpuState no_osx = on;
  no_osx.cr4 &= ~kCr4OsXsave;
  const std::vector<uint8_t> vcmpps = {0xC5, 0xF4, 0xC2, 0xC2, 0x1F};  // vcmpps ymm0, ymm1, ymm2, 31
  EXPECT_FALSE(ud(vcmpps, on));
  EXPECT_TRUE(ud(vcmpps, no_ymm));
  EXPECT_TRUE(ud(vcmpps, no_osx));
  EXPECT_FALSE(ud({0xC5, 0xF9, 0x6E, 0xC0}, on));  // vmovd xmm0, eax
  EXPECT_TRUE(ud({0xC5, 0xFD, 0x6E, 0xC0}, on));   // ... with VEX.L = 1
  EXPECT_TRUE(ud({0xC5, 0xB9, 0x6E, 0xC0}, on));   // ... with VEX.vvvv = 0111b
  EXPECT_FALSE(ud({0xC4, 0xE2, 0x6D, 0x90, 0x04, 0x8B}, on));  // vpgatherdd ymm0, [rbx+ymm1*4], ymm2
  EXPECT_TRUE(ud({0xC4, 0xE2, 0x7D, 0x90, 0x04, 0x8B}, on));   // mask = destination
}

// The gathers, natively and on the engine, from the same buffer: YMM0 (destination), YMM1
// (indices) and YMM2 (mask) in, YMM0 and YMM2 out.
using NativeGather = void (*)(const uint8_t* in, uint8_t* out, const uint8_t* base);
#define NATIVE_G(text)                                                                    \
  [](const uint8_t* in, uint8_t* out, const uint8_t* base) {                              \
    asm volatile("vmovdqu (%[i]), %%ymm0\n\tvmovdqu 32(%[i]), %%ymm1\n\t"                 \
                 "vmovdqu 64(%[i]), %%ymm2\n\t" text "\n\t"                                \
                 "vmovdqu %%ymm0, (%[o])\n\tvmovdqu %%ymm2, 32(%[o])\n\tvzeroupper"       \
                 :                                                                        \
                 : [i] "r"(in), [o] "r"(out), "b"(base)                                   \
                 : "xmm0", "xmm1", "xmm2", "memory");                                     \
  }

struct GatherCase {
  const char* name;
  std::vector<uint8_t> code;
  NativeGather native;
  unsigned isize, scale;
};

TEST_P(AvxComplete, GathersMatchHost) {
  if (!(cpuid(7, 0).ebx & cpuid_bits::AVX2_BIT)) GTEST_SKIP() << "host lacks AVX2 (then so does the guest)";
  const std::vector<GatherCase> cases = {
      {"vpgatherdd ymm", {0xC4, 0xE2, 0x6D, 0x90, 0x04, 0x8B}, NATIVE_G("vpgatherdd %%ymm2, (%%rbx,%%ymm1,4), %%ymm0"), 4, 4},
      {"vpgatherdd xmm", {0xC4, 0xE2, 0x69, 0x90, 0x04, 0x8B}, NATIVE_G("vpgatherdd %%xmm2, (%%rbx,%%xmm1,4), %%xmm0"), 4, 4},
      {"vgatherdps ymm", {0xC4, 0xE2, 0x6D, 0x92, 0x44, 0x4B, 0x08}, NATIVE_G("vgatherdps %%ymm2, 8(%%rbx,%%ymm1,2), %%ymm0"), 4, 2},
      {"vgatherdpd ymm", {0xC4, 0xE2, 0xED, 0x92, 0x04, 0xCB}, NATIVE_G("vgatherdpd %%ymm2, (%%rbx,%%xmm1,8), %%ymm0"), 4, 8},
      {"vpgatherdq xmm", {0xC4, 0xE2, 0xE9, 0x90, 0x04, 0xCB}, NATIVE_G("vpgatherdq %%xmm2, (%%rbx,%%xmm1,8), %%xmm0"), 4, 8},
      {"vgatherqps ymm-index", {0xC4, 0xE2, 0x6D, 0x93, 0x04, 0x8B}, NATIVE_G("vgatherqps %%xmm2, (%%rbx,%%ymm1,4), %%xmm0"), 8, 4},
      {"vpgatherqd xmm", {0xC4, 0xE2, 0x69, 0x91, 0x04, 0x8B}, NATIVE_G("vpgatherqd %%xmm2, (%%rbx,%%xmm1,4), %%xmm0"), 8, 4},
      {"vgatherqpd ymm", {0xC4, 0xE2, 0xED, 0x93, 0x44, 0xCB, 0xF0}, NATIVE_G("vgatherqpd %%ymm2, -16(%%rbx,%%ymm1,8), %%ymm0"), 8, 8},
      {"vpgatherqq xmm", {0xC4, 0xE2, 0xE9, 0x91, 0x04, 0x0B}, NATIVE_G("vpgatherqq %%xmm2, (%%rbx,%%xmm1,1), %%xmm0"), 8, 1},
  };
  std::mt19937_64 rng(17);
  std::vector<uint8_t> buf(0x8000);
  for (auto& b : buf) b = uint8_t(rng());
  for (const GatherCase& c : cases) {
    for (int round = 0; round < 20; ++round) {
      alignas(32) uint8_t in[96], out[64];
      for (auto& b : in) b = uint8_t(rng());
      for (unsigned j = 0; j < 32 / c.isize; ++j) {  // offsets within +-0x3F00 of the base
        int64_t idx = (int64_t(rng() % 0x7E00) - 0x3F00) / int64_t(c.scale);
        std::memcpy(in + 32 + j * c.isize, &idx, c.isize);
      }
      c.native(in, out, buf.data() + 0x4000);

      CpuState cpu = avx_cpu();
      for (int r = 0; r < 3; ++r) {
        std::memcpy(&cpu.xmm[r], in + 32 * r, 16);
        std::memcpy(&cpu.ymm_hi[r], in + 32 * r + 16, 16);
      }
      cpu.gpr[RBX] = 0x20000 + 0x4000;
      std::vector<uint8_t> code = c.code, data = buf;
      code.insert(code.end(), {0x0F, 0x05});
      ASSERT_EQ(run_code(GetParam(), code, cpu, &data), StopReason::Syscall) << c.name;
      uint8_t got[64];
      std::memcpy(got, &cpu.xmm[0], 16);
      std::memcpy(got + 16, &cpu.ymm_hi[0], 16);
      std::memcpy(got + 32, &cpu.xmm[2], 16);
      std::memcpy(got + 48, &cpu.ymm_hi[2], 16);
      EXPECT_EQ(0, std::memcmp(got, out, 32)) << c.name << " destination, round " << round;
      EXPECT_EQ(0, std::memcmp(got + 32, out + 32, 32)) << c.name << " mask, round " << round;
    }
  }
}

// A fault on element 2 of vpgatherdd: elements 0 and 1 are loaded and their mask cleared, the
// others keep their destination and their mask is pending (the host's rule), and the fault reports the element's address at the
// instruction (SDM Vol. 2, VPGATHERDD: "elements closer to the LSB ... will be completed").
TEST_P(AvxComplete, GatherFaultLeavesEarlierElementsDone) {
  CpuState cpu = avx_cpu();
  const int32_t idx[8] = {0, 1, 0x4000, 3, 4, 5, 6, 7};  // element 2: 0x30000, unmapped
  std::memcpy(&cpu.xmm[1], idx, 16);
  std::memcpy(&cpu.ymm_hi[1], idx + 4, 16);
  for (int i = 0; i < 4; ++i) {
    cpu.xmm[2].u32[i] = 0x80000000u;
    cpu.ymm_hi[2].u32[i] = 0x80000000u;
    cpu.xmm[0].u32[i] = 0xDEAD0000u + i;
    cpu.ymm_hi[0].u32[i] = 0xDEAD0004u + i;
  }
  cpu.gpr[RBX] = 0x20000;  // scale 4: element 2 at 0x20000 + 0x4000 * 4
  std::vector<uint8_t> data(0x8000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i);
  ASSERT_EQ(run_code(GetParam(), {0xC4, 0xE2, 0x6D, 0x90, 0x04, 0x8B, 0x0F, 0x05}, cpu, &data),
            StopReason::Fault);
  EXPECT_EQ(cpu.fault.vector, VEC_PF);
  EXPECT_EQ(cpu.fault.address, 0x30000u);
  EXPECT_EQ(cpu.rip, 0x10000u);
  EXPECT_EQ(cpu.xmm[0].u32[0], 0x03020100u);  // [0x20000]
  EXPECT_EQ(cpu.xmm[0].u32[1], 0x07060504u);  // [0x20004]
  EXPECT_EQ(cpu.xmm[0].u32[2], 0xDEAD0002u);
  EXPECT_EQ(cpu.ymm_hi[0].u32[3], 0xDEAD0007u);
  EXPECT_EQ(cpu.xmm[2].u32[0], 0u);
  EXPECT_EQ(cpu.xmm[2].u32[1], 0u);
  // A pending element's mask: as it was, or all ones (cpu/host_quirks.h: as the host leaves it)
  const uint32_t pending = host_gather_fault_normalizes_mask() ? 0xFFFFFFFFu : 0x80000000u;
  EXPECT_EQ(cpu.xmm[2].u32[2], pending);
  EXPECT_EQ(cpu.ymm_hi[2].u32[3], pending);
}

// The same fault natively: the state at the fault, read from the signal frame's XSAVE area,
// is the engine's (which mask elements are still set, what the destination holds, and which
// upper halves are zero).
sigjmp_buf g_gather_env;
uint8_t g_gather_state[64];  // YMM0, YMM2 at the fault
void on_gather_fault(int, siginfo_t*, void* ucv) {
  auto* uc = static_cast<ucontext_t*>(ucv);
  const uint8_t* fp = reinterpret_cast<const uint8_t*>(uc->uc_mcontext.fpregs);
  uint64_t bv;
  std::memcpy(&bv, fp + 512, 8);
  for (int k = 0; k < 2; ++k) {
    const int r = k == 0 ? 0 : 2;
    std::memcpy(g_gather_state + 32 * k, fp + 160 + 16 * r, 16);
    if (bv & 4) std::memcpy(g_gather_state + 32 * k + 16, fp + 576 + 16 * r, 16);
    else std::memset(g_gather_state + 32 * k + 16, 0, 16);
  }
  siglongjmp(g_gather_env, 1);
}

TEST_P(AvxComplete, GatherFaultStateMatchesHost) {
  if (!(cpuid(7, 0).ebx & cpuid_bits::AVX2_BIT)) GTEST_SKIP() << "host lacks AVX2 (then so does the guest)";
  // Natively: two pages, the second unmapped; element 2 (and 5) point into it.
  uint8_t* page = static_cast<uint8_t*>(mmap(nullptr, 0x2000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(page, MAP_FAILED);
  munmap(page + 0x1000, 0x1000);
  for (int i = 0; i < 0x1000; ++i) page[i] = uint8_t(i * 3);
  const int32_t idx[8] = {4, 9, 0x400, 17, 30, 0x401, 2, 3};  // *4: element 2 at +0x1000
  alignas(32) uint8_t in[96];
  std::memcpy(in + 32, idx, 32);
  for (int i = 0; i < 32; ++i) in[i] = uint8_t(0xA0 + i);
  const uint32_t mask[8] = {0x80000000u, 0x7FFFFFFFu, 0x80000001u, 0xFFFFFFFFu, 0x12345678u, 0x80000000u, 0x80000000u, 0};
  std::memcpy(in + 64, mask, 32);
  struct sigaction sa {}, old {};
  sa.sa_sigaction = on_gather_fault;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, &old);
  if (sigsetjmp(g_gather_env, 1) == 0) {
    asm volatile("vmovdqu (%0), %%ymm0\n\tvmovdqu 32(%0), %%ymm1\n\tvmovdqu 64(%0), %%ymm2\n\t"
                 "vpgatherdd %%ymm2, (%1,%%ymm1,4), %%ymm0\n\tvzeroupper"
                 : : "r"(in), "r"(page) : "xmm0", "xmm1", "xmm2", "memory");
    FAIL() << "the gather did not fault natively";
  }
  sigaction(SIGSEGV, &old, nullptr);
  munmap(page, 0x1000);

  CpuState cpu = avx_cpu();
  for (int r = 0; r < 3; ++r) {
    std::memcpy(&cpu.xmm[r], in + 32 * r, 16);
    std::memcpy(&cpu.ymm_hi[r], in + 32 * r + 16, 16);
  }
  cpu.gpr[RBX] = 0x2F000;  // its page is the data area's last, 0x30000 is unmapped
  ASSERT_EQ(run_code(GetParam(), {0xC4, 0xE2, 0x6D, 0x90, 0x04, 0x8B, 0x0F, 0x05}, cpu), StopReason::Fault);
  EXPECT_EQ(cpu.fault.vector, VEC_PF);
  uint8_t got[64];
  std::memcpy(got, &cpu.xmm[0], 16);
  std::memcpy(got + 16, &cpu.ymm_hi[0], 16);
  std::memcpy(got + 32, &cpu.xmm[2], 16);
  std::memcpy(got + 48, &cpu.ymm_hi[2], 16);
  // Loaded elements 0 and 1 differ by the memory content; compare which were loaded via the
  // mask and the untouched elements byte for byte.
  auto bytes = [&] {  // engine/native per byte, for the failure message
    std::string t;
    for (int i = 0; i < 64; ++i) t += " " + std::to_string(got[i]) + "/" + std::to_string(g_gather_state[i]);
    return t;
  };
  EXPECT_EQ(0, std::memcmp(got + 32, g_gather_state + 32, 32)) << "mask at the fault:" << bytes();
  EXPECT_EQ(0, std::memcmp(got + 8, g_gather_state + 8, 24)) << "destination elements 2..7";
}

// Masked moves: a masked-off element never faults, even on an unmapped page.
TEST_P(AvxComplete, MaskedMoveSuppressesFaults) {
  CpuState cpu = avx_cpu();
  cpu.gpr[RBX] = 0x30000 - 16;  // elements 4..7 of a ymm access are past the data area
  for (int i = 0; i < 4; ++i) {
    cpu.xmm[2].u32[i] = 0x80000000u;  // mask: elements 0..3 on, 4..7 off
    cpu.ymm_hi[2].u32[i] = 0x7FFFFFFFu;
  }
  // vmaskmovps ymm0, ymm2, [rbx]; vmaskmovps [rbx], ymm2, ymm0
  ASSERT_EQ(run_code(GetParam(), {0xC4, 0xE2, 0x6D, 0x2C, 0x03, 0xC4, 0xE2, 0x6D, 0x2E, 0x03, 0x0F, 0x05}, cpu),
            StopReason::Syscall);
  EXPECT_EQ(cpu.ymm_hi[0].u64[0], 0u);  // masked-off elements read as zero
  cpu.ymm_hi[2].u32[0] = 0x80000000u;   // now element 4 is on: #PF at its address
  cpu.rip = 0x10000;
  EXPECT_EQ(run_code(GetParam(), {0xC4, 0xE2, 0x6D, 0x2C, 0x03, 0x0F, 0x05}, cpu), StopReason::Fault);
  EXPECT_EQ(cpu.fault.vector, VEC_PF);
  EXPECT_EQ(cpu.fault.address, 0x30000u);
}

// vldmxcsr unmasking an exception in the middle of a block: the next SSE instruction raises
// #XM at itself (found by difftest's AVX sequences: the jit ran the rest of the block in
// translated code, whose host MXCSR then had the exception unmasked, and the host took SIGFPE).
TEST_P(AvxComplete, LdmxcsrUnmaskingMidBlockGivesXm) {
  CpuState cpu = avx_cpu();
  cpu.gpr[RBX] = 0x20000;
  std::vector<uint8_t> data(16, 0);
  const uint32_t csr = 0x1F00;  // IM clear: an invalid operation is #XM
  std::memcpy(data.data(), &csr, 4);
  cpu.xmm[1].u64[0] = 0xBFF0000000000000;  // -1.0: sqrt is invalid
  // vldmxcsr [rbx]; nop; sqrtsd xmm0, xmm1 (translated by the jit); syscall
  ASSERT_EQ(run_code(GetParam(), {0xC5, 0xF8, 0xAE, 0x13, 0x90, 0xF2, 0x0F, 0x51, 0xC1, 0x0F, 0x05}, cpu, &data),
            StopReason::Fault);
  EXPECT_EQ(cpu.fault.vector, VEC_XM);
  EXPECT_EQ(cpu.rip, 0x10005u);
  EXPECT_EQ(cpu.mxcsr, 0x1F01u);  // IE set, the destination untouched
}

INSTANTIATE_TEST_SUITE_P(Engines, AvxComplete, ::testing::Values(Engine::Interp, Engine::Jit),
                         [](const auto& i) { return i.param == Engine::Jit ? "jit" : "interp"; });

}  // namespace
}  // namespace vireo::test
