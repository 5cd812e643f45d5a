// x87 transcendentals, stack faults, environment/state save and restore, unmasked exceptions,
// #MF delivery and FXSAVE/FXRSTOR, compared with native execution where the hardware can be
// asked the same question.
#include <random>

#include "cpu/cpuid.h"
#include "cpu/host_quirks.h"
#include "interp_x87_seq.h"

namespace vireo::test {

// FNSTENV/FNSAVE environment fields that legitimately differ from native: FIP, FCS, FOP, FDP
// and FDS (bytes 12..27) hold the *host* addresses of the native run (the guest's code and data
// live at other addresses) and the host's selectors; AMD processors, like this host, also store
// FIP/FDP/FOP only while an exception is pending.
inline Masks env_mask(unsigned off) { return {{off + 12, 16}}; }

X87_SEQ(unary,
        "fldt (%rdi)\n\tfsin\n\tfstpt 64(%rdi)\n\tfnstsw 74(%rdi)\n\t"
        "fldt (%rdi)\n\tfcos\n\tfstpt 76(%rdi)\n\tfnstsw 86(%rdi)\n\t"
        "fldt (%rdi)\n\tfsincos\n\tfstpt 88(%rdi)\n\tfstpt 98(%rdi)\n\tfnstsw 108(%rdi)\n\t"
        "fldt (%rdi)\n\tfptan\n\tfstpt 110(%rdi)\n\tfstpt 120(%rdi)\n\tfnstsw 130(%rdi)\n\t"
        "fldt (%rdi)\n\tf2xm1\n\tfstpt 132(%rdi)\n\tfnstsw 142(%rdi)\n\t"
        "fldt (%rdi)\n\tfsqrt\n\tfstpt 144(%rdi)\n\tfnstsw 154(%rdi)\n\t"
        "fldt (%rdi)\n\tfrndint\n\tfstpt 156(%rdi)\n\tfnstsw 166(%rdi)\n\t"
        "fldt (%rdi)\n\tfxtract\n\tfstpt 168(%rdi)\n\tfstpt 178(%rdi)\n\tfnstsw 188(%rdi)\n\t"
        "fldt (%rdi)\n\tfabs\n\tfstpt 190(%rdi)\n\tfldt (%rdi)\n\tfchs\n\tfstpt 200(%rdi)\n\t"
        "fnstsw 210(%rdi)");

X87_SEQ(binary,
        "fldt 16(%rdi)\n\tfldt (%rdi)\n\tfpatan\n\tfstpt 64(%rdi)\n\tfnstsw 74(%rdi)\n\t"
        "fldt 16(%rdi)\n\tfldt (%rdi)\n\tfyl2x\n\tfstpt 76(%rdi)\n\tfnstsw 86(%rdi)\n\t"
        "fldt 16(%rdi)\n\tfldt (%rdi)\n\tfyl2xp1\n\tfstpt 88(%rdi)\n\tfnstsw 98(%rdi)\n\t"
        "fldt 16(%rdi)\n\tfldt (%rdi)\n\tfscale\n\tfstpt 100(%rdi)\n\tfstpt 110(%rdi)\n\t"
        "fnstsw 120(%rdi)\n\t"
        "fldt 16(%rdi)\n\tfldt (%rdi)\n\tfprem\n\tfnstsw 122(%rdi)\n\tfstpt 124(%rdi)\n\t"
        "fstpt 134(%rdi)\n\t"
        "fldt 16(%rdi)\n\tfldt (%rdi)\n\tfprem1\n\tfnstsw 144(%rdi)\n\tfstpt 146(%rdi)\n\t"
        "fstpt 156(%rdi)\n\tfnstsw 166(%rdi)");

// Stack overflow (a ninth push) and underflow (reading an empty register, storing from one):
// IE+SF with C1 telling which, the QNaN indefinite as the masked response; the final FNSAVE
// captures every register, the full tag word and TOP.
X87_SEQ(stack_faults,
        "fld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfldpi\n\tfnstsw 64(%rdi)\n\t"
        "fldt (%rdi)\n\tfnstsw 66(%rdi)\n\tfstpt 68(%rdi)\n\tfnclex\n\t"
        "ffree %st(2)\n\tfadd %st(2), %st\n\tfnstsw 78(%rdi)\n\tfnclex\n\t"
        "fincstp\n\tfincstp\n\tfxch %st(4)\n\tfnstsw 80(%rdi)\n\tfdecstp\n\t"
        "ffreep %st(0)\n\tfxam\n\tfnstsw 82(%rdi)\n\tfnsave 96(%rdi)\n\tfldcw 48(%rdi)\n\t"
        "fstpt 210(%rdi)\n\tfnstsw 220(%rdi)\n\tfistpl 222(%rdi)\n\tfnstsw 226(%rdi)\n\t"
        "fxam\n\tfnstsw 228(%rdi)");

// FNSTENV masks exceptions; FLDENV, FNCLEX, FNSAVE/FRSTOR round trips; FNSTCW/FLDCW.
X87_SEQ(env,
        "fldt 16(%rdi)\n\tfldt (%rdi)\n\tfdiv %st(1), %st\n\tfnstenv 64(%rdi)\n\t"
        "fnstcw 92(%rdi)\n\tfldenv 64(%rdi)\n\tfnstcw 94(%rdi)\n\tfnstsw 96(%rdi)\n\t"
        "fnclex\n\tfnstsw 98(%rdi)\n\tfnsave 112(%rdi)\n\tfnstsw 220(%rdi)\n\t"
        "frstor 112(%rdi)\n\tfnstsw 222(%rdi)\n\tfstpt 224(%rdi)\n\tfnsave 240(%rdi)\n\t"
        "movw $0x0e7f, 350(%rdi)\n\tfldcw 350(%rdi)\n\tfnstcw 352(%rdi)\n\tfldpi\n\t"
        "fstpt 354(%rdi)\n\tfninit\n\tfnstcw 364(%rdi)\n\tfnstsw 366(%rdi)");

// Unmasked exceptions: the destination is left alone (no pop, no store) and ES/B are set;
// only non-waiting instructions follow, so the native run does not trap.
X87_SEQ(unmasked_zero_divide,
        "fldt 16(%rdi)\n\tfldt (%rdi)\n\tfdiv %st(1), %st\n\tfnstsw 64(%rdi)\n\t"
        "fnsave 80(%rdi)");
X87_SEQ(unmasked_store,
        "fldt (%rdi)\n\tfistps 64(%rdi)\n\tfnstsw 66(%rdi)\n\tfnsave 80(%rdi)\n\t"
        "fldcw 48(%rdi)\n\tfldt (%rdi)\n\tfstps 200(%rdi)\n\tfnstsw 204(%rdi)\n\t"
        "fnsave 208(%rdi)");

// FXRSTOR64 of a prepared image, one operation, FXSAVE64 and FXSAVE (32-bit pointer form).
X87_SEQ(fxsave,
        "fxrstor64 1024(%rdi)\n\tfldt (%rdi)\n\tfmul %st(3), %st\n\tfxsave64 256(%rdi)\n\t"
        "fldl2t\n\tfxsave 768(%rdi)");

TEST(InterpX87State, TranscendentalsMatchNative) {
  X87Runner r;
  auto vals = x87_values();
  std::mt19937_64 rng(3);
  for (int i = 0; i < 40; ++i)
    vals.push_back(ld_bits(uint16_t(0x3FE0 + rng() % 0x40 + (rng() & 1) * 0x8000),
                           rng() | (1ull << 63)));
  int fails = 0;
  for (long double a : vals)
    for (uint16_t cw : {uint16_t(0x037F), uint16_t(0x0B7F), uint16_t(0x027F)})
      if (!r.check(kSeq_unary, {a, 0, cw}) && ++fails > 10) return;
  for (long double a : vals)
    for (long double b : {0.5L, -3.0L, 1e-5L, 7.25L, 1e30L, 0.0L})
      if (!r.check(kSeq_binary, {a, b}) && ++fails > 10) return;
}

TEST(InterpX87State, StackOverflowUnderflowMatchNative) {
  X87Runner r;
  for (uint16_t cw : kFcwVariants) r.check(kSeq_stack_faults, {2.0L, 0, cw}, env_mask(96));
}

TEST(InterpX87State, EnvironmentSaveRestoreMatchNative) {
  X87Runner r;
  Masks m = env_mask(64);
  for (auto e : {env_mask(112), env_mask(240)}) m.push_back(e[0]);
  for (long double b : {3.0L, 0.0L, ld_bits(0x0000, 5)})
    for (uint16_t cw : {uint16_t(0x037F), uint16_t(0x0C7F)})
      r.check(kSeq_env, {1.0L, b, cw}, m);
}

TEST(InterpX87State, UnmaskedExceptionsLeaveDestinationAlone) {
  X87Runner r;
  Masks m = env_mask(80);
  m.push_back(env_mask(208)[0]);
  r.check(kSeq_unmasked_zero_divide, {1.0L, 0.0L, 0x037B}, m);  // ZE unmasked
  r.check(kSeq_unmasked_zero_divide, {1.0L, 4.0L, 0x037B}, m);  // no exception
  r.check(kSeq_unmasked_store, {1e10L, 0, 0x037E}, m);          // IE unmasked: no store
  r.check(kSeq_unmasked_store, {1e300L, 0, 0x0377}, m);         // OE unmasked on FSTP m32
  r.check(kSeq_unmasked_store, {0.1L, 0, 0x035F}, m);           // PE unmasked: stored
}

TEST(InterpX87State, PendingUnmaskedExceptionRaisesMfAtNextWaitingInstruction) {
  X87Runner r;
  InterpHarness& h = r.h;
  reset_user_state(h.cpu);
  // fldcw [rdi]; fld1; fldz; fdivp st(1), st; fnstsw ax; fwait
  uint16_t cw = 0x037B;
  std::memcpy(h.data(), &cw, 2);
  h.cpu.gpr[RDI] = InterpHarness::kData;
  std::vector<uint8_t> code = {0xD9, 0x2F, 0xD9, 0xE8, 0xD9, 0xEE, 0xDE, 0xF9,
                               0xDF, 0xE0, 0x9B};
  ASSERT_EQ(h.run(code), StopReason::Fault);
  EXPECT_EQ(h.cpu.fault.vector, VEC_MF);
  EXPECT_EQ(h.cpu.rip, InterpHarness::kCode + 10);  // the FWAIT, not the FDIVP
  EXPECT_EQ(h.cpu.gpr[RAX] & 0xFFFF, 0x8084u | (6u << 11));  // B ES ZE; TOP 6: no pop
  // FNCLEX does not wait and clears the pending state; FWAIT then passes.
  ASSERT_EQ(h.run({0xDB, 0xE2, 0x9B}), StopReason::None);
}

// An FXRSTOR image: FCW, FSW with TOP 5, three valid registers, FOP/FIP/FDP junk (FXRSTOR
// loads them; FXSAVE stores the guest's own), MXCSR, and recognisable XMM patterns.
static std::vector<uint8_t> fxrstor_image(uint16_t fcw) {
  std::vector<uint8_t> img(512, 0);
  uint16_t fsw = 5u << 11;
  std::memcpy(&img[0], &fcw, 2);
  std::memcpy(&img[2], &fsw, 2);
  img[4] = 0xE0;  // physical 5, 6, 7 valid = ST(0..2)
  uint32_t mxcsr = 0x1F80;
  std::memcpy(&img[24], &mxcsr, 4);
  long double regs[3] = {1.25L, -3.0L / 7.0L, 1e-4000L};
  for (int i = 0; i < 3; ++i) std::memcpy(&img[32 + 16 * i], &regs[i], 10);
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < 16; ++k) img[160 + 16 * i + k] = uint8_t(i * 16 + k);
  return img;
}

TEST(InterpX87State, FxsaveImageMatchesNative) {
  X87Runner r;
  // Masked: FOP (6..7), FIP (8..15) and FDP (16..23) in both images, for the reasons given at
  // env_mask(). Everything else, including MXCSR_MASK, the XMM registers, the zeroed
  // reserved bytes of each ST slot and the untouched bytes 416..511, must match.
  Masks m = {{256 + 6, 18}, {768 + 6, 18}};
  for (uint16_t cw : {uint16_t(0x037F), uint16_t(0x0A7F)}) {
    auto img = fxrstor_image(cw);
    for (long double a : {2.0L, 1e4000L})
      r.check(kSeq_fxsave, {a, 0, 0x037F}, m, img.data(), 1024, 512);
  }
}

TEST(InterpX87State, FxsaveStoresGuestPointersAndChecksAlignment) {
  X87Runner r;
  InterpHarness& h = r.h;
  reset_user_state(h.cpu);
  std::memset(h.data(), 0, 0x400);
  long double v = 3.5L;
  std::memcpy(h.data(), &v, 10);
  // fldt [rsi]; fxsave64 [rdi]
  reset_user_state(h.cpu);
  h.cpu.gpr[RDI] = InterpHarness::kData + 0x100;
  h.cpu.gpr[RSI] = InterpHarness::kData;
  h.cpu.xmm[3].u64[0] = 0x1122334455667788ull;
  ASSERT_EQ(h.run({0xDB, 0x2E, 0x48, 0x0F, 0xAE, 0x07}), StopReason::None);  // fldt [rsi]
  const uint8_t* img = h.data() + 0x100;
  uint64_t fip, fdp;
  uint16_t fop, fsw;
  std::memcpy(&fsw, img + 2, 2);
  std::memcpy(&fop, img + 6, 2);
  std::memcpy(&fip, img + 8, 8);
  std::memcpy(&fdp, img + 16, 8);
  EXPECT_EQ(fsw, 7u << 11);
  EXPECT_EQ(img[4], 0x80);
  // FOP and FDP as this host records them (no exception here): cpu/host_quirks.h.
  const HostX87PointerRules& rules = host_x87_pointer_rules();
  EXPECT_EQ(fop, rules.fop_on_exception_only ? 0 : 0x32E);  // DB 2E
  EXPECT_EQ(fip, InterpHarness::kCode);
  EXPECT_EQ(fdp, rules.data_on_exception_only ? 0 : InterpHarness::kData);
  long double st0;
  std::memcpy(&st0, img + 32, 10);
  EXPECT_EQ(st0, 3.5L);
  uint64_t x3;
  std::memcpy(&x3, img + 160 + 48, 8);
  EXPECT_EQ(x3, 0x1122334455667788ull);

  // Misaligned image: #GP(0), nothing written.
  h.cpu.gpr[RDI] = InterpHarness::kData + 0x208;
  ASSERT_EQ(h.run({0x48, 0x0F, 0xAE, 0x07}), StopReason::Fault);
  EXPECT_EQ(h.cpu.fault.vector, VEC_GP);
  // FXRSTOR of an image with a reserved MXCSR bit: #GP(0), state unchanged.
  h.cpu.gpr[RDI] = InterpHarness::kData + 0x100;
  uint32_t bad = 0x1F80u | (1u << 31);
  std::memcpy(h.data() + 0x100 + 24, &bad, 4);
  uint16_t fcw_before = h.cpu.x87.fcw;
  ASSERT_EQ(h.run({0x48, 0x0F, 0xAE, 0x0F}), StopReason::Fault);
  EXPECT_EQ(h.cpu.fault.vector, VEC_GP);
  EXPECT_EQ(h.cpu.x87.fcw, fcw_before);
  // The same image with a valid MXCSR restores: TOP 7, ST(0) = 3.5, XMM3.
  uint32_t good = 0x1F80;
  std::memcpy(h.data() + 0x100 + 24, &good, 4);
  reset_user_state(h.cpu);
  h.cpu.gpr[RDI] = InterpHarness::kData + 0x100;
  ASSERT_EQ(h.run({0x48, 0x0F, 0xAE, 0x0F}), StopReason::None);
  EXPECT_EQ(h.cpu.x87.top, 7);
  EXPECT_EQ(h.cpu.x87.st[7], 3.5L);
  EXPECT_EQ(h.cpu.x87.tag_empty, 0x7F);
  EXPECT_EQ(h.cpu.xmm[3].u64[0], 0x1122334455667788ull);
  EXPECT_EQ(h.cpu.x87.fip, InterpHarness::kCode);
}

// The x87 pointer rules follow the host (cpu/host_quirks.h): an fnstenv after a non-control
// instruction with a memory operand stores the host's FCS/FOP/FDP/FDS choices, and the guest's
// CPUID leaf 7 reports them with the host's own bits (EBX 6 FDP_EXCPTN_ONLY, 13 FCS/FDS).
TEST(InterpX87State, PointerFieldsFollowTheHostAndItsCpuidBits) {
  const HostX87PointerRules& rules = host_x87_pointer_rules();
  unsigned a, b, c, d;
  asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
  EXPECT_EQ(rules.data_on_exception_only, bool(b & cpuid_bits::FDP_EXCPTN_ONLY));
  EXPECT_EQ(rules.selectors_zero, bool(b & cpuid_bits::FCS_FDS_DEPRECATED));
  const uint32_t guest = cpuid(7, 0).ebx;
  EXPECT_EQ(bool(guest & cpuid_bits::FDP_EXCPTN_ONLY), rules.data_on_exception_only);
  EXPECT_EQ(bool(guest & cpuid_bits::FCS_FDS_DEPRECATED), rules.selectors_zero);

  X87Runner r;
  InterpHarness& h = r.h;
  reset_user_state(h.cpu);
  std::memset(h.data(), 0, 0x100);
  h.cpu.gpr[RDI] = InterpHarness::kData + 0x40;
  h.cpu.gpr[RSI] = InterpHarness::kData;
  // fninit; fld1; fstp dword [rsi]; fnstenv [rdi]
  ASSERT_EQ(h.run({0xDB, 0xE3, 0xD9, 0xE8, 0xD9, 0x1E, 0xD9, 0x37}), StopReason::None);
  uint32_t w16, fdp, fds;
  std::memcpy(&w16, h.data() + 0x40 + 16, 4);
  std::memcpy(&fdp, h.data() + 0x40 + 20, 4);
  std::memcpy(&fds, h.data() + 0x40 + 24, 4);
  EXPECT_EQ(w16 & 0xFFFF, rules.selectors_zero ? 0u : h.cpu.seg[SEG_CS].selector);
  EXPECT_EQ(w16 >> 16, rules.fop_on_exception_only ? 0u : 0x11Eu);  // D9 1E
  EXPECT_EQ(fdp, rules.data_on_exception_only ? 0u : uint32_t(InterpHarness::kData));
  if (rules.selectors_zero) EXPECT_EQ(fds & 0xFFFF, 0u);
}

}  // namespace vireo::test
