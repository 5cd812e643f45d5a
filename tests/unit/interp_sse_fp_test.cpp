// SSE floating point on the interpreter versus the host executing the same instruction under
// the same MXCSR: arithmetic, min/max NaN rules, sqrt/rcp/rsqrt, compares, conversions, SSE3
// horizontal ops, SSE4.1 rounding and dot products; edge values under every rounding mode,
// FTZ/DAZ, and pre-set sticky flags. Also: flags compares, GPR conversions, memory operands,
// alignment faults and unmasked exceptions (#XM).
#include "interp_sse_test_util.h"

namespace vireo::test {
namespace {

enum class Kind { F32, F64 };

struct FpCase {
  const char* name;
  std::vector<uint8_t> bytes;  // op xmm0, xmm1
  NativeBin native;
  Kind kind;
};

#define PS(op) {0x0F, op, 0xC1}
#define PD(op) {0x66, 0x0F, op, 0xC1}
#define SS(op) {0xF3, 0x0F, op, 0xC1}
#define SD(op) {0xF2, 0x0F, op, 0xC1}
#define C(name, bytes, kind) {name, bytes, NATIVE_XMM(name " %[s], %[d]"), Kind::kind}

std::vector<FpCase> fp_cases() {
  return {
      C("addps", PS(0x58), F32), C("addpd", PD(0x58), F64), C("addss", SS(0x58), F32),
      C("addsd", SD(0x58), F64), C("mulps", PS(0x59), F32), C("mulpd", PD(0x59), F64),
      C("mulss", SS(0x59), F32), C("mulsd", SD(0x59), F64), C("subps", PS(0x5C), F32),
      C("subpd", PD(0x5C), F64), C("subss", SS(0x5C), F32), C("subsd", SD(0x5C), F64),
      C("minps", PS(0x5D), F32), C("minpd", PD(0x5D), F64), C("minss", SS(0x5D), F32),
      C("minsd", SD(0x5D), F64), C("divps", PS(0x5E), F32), C("divpd", PD(0x5E), F64),
      C("divss", SS(0x5E), F32), C("divsd", SD(0x5E), F64), C("maxps", PS(0x5F), F32),
      C("maxpd", PD(0x5F), F64), C("maxss", SS(0x5F), F32), C("maxsd", SD(0x5F), F64),
      C("sqrtps", PS(0x51), F32), C("sqrtpd", PD(0x51), F64), C("sqrtss", SS(0x51), F32),
      C("sqrtsd", SD(0x51), F64), C("rsqrtps", PS(0x52), F32), C("rsqrtss", SS(0x52), F32),
      C("rcpps", PS(0x53), F32), C("rcpss", SS(0x53), F32),
      C("cvtps2pd", PS(0x5A), F32), C("cvtpd2ps", PD(0x5A), F64),
      C("cvtss2sd", SS(0x5A), F32), C("cvtsd2ss", SD(0x5A), F64),
      C("cvtdq2ps", PS(0x5B), F32), C("cvtps2dq", PD(0x5B), F32),
      C("cvttps2dq", SS(0x5B), F32), C("cvtdq2pd", SS(0xE6), F32),
      C("cvtpd2dq", SD(0xE6), F64), C("cvttpd2dq", PD(0xE6), F64),
      C("addsubps", SD(0xD0), F32), C("addsubpd", PD(0xD0), F64),
      C("haddps", SD(0x7C), F32), C("haddpd", PD(0x7C), F64),
      C("hsubps", SD(0x7D), F32), C("hsubpd", PD(0x7D), F64),
  };
}

TEST(InterpSseFp, ArithmeticMatchesNative) {
  InterpHarness h;
  XmmGen g(7);
  for (const FpCase& c : fp_cases())
    for (uint32_t csr : test_mxcsrs())
      for (int i = 0; i < 60; ++i) {
        Xmm d = c.kind == Kind::F32 ? g.f32() : g.f64();
        Xmm s = c.kind == Kind::F32 ? g.f32() : g.f64();
        if (std::string(c.name) == "cvtdq2ps" || std::string(c.name) == "cvtdq2pd") s = g.bits();
        check_xmm_op(h, c.name, c.bytes, c.native, d, s, csr);
      }
}

// MIN/MAX return the second (source) operand when either is NaN or both are zero (of any
// sign): the operand order matters, not just the values.
TEST(InterpSseFp, MinMaxOperandOrder) {
  InterpHarness h;
  const double pz = 0.0, nz = -0.0, nan = std::nan("");
  struct { double a, b; } pairs[] = {{pz, nz}, {nz, pz}, {nan, 1.0}, {1.0, nan}};
  for (auto p : pairs) {
    Xmm d = xmm_of(f64_bits(p.a), 0), s = xmm_of(f64_bits(p.b), 0);
    check_xmm_op(h, "minsd", SD(0x5D), NATIVE_XMM("minsd %[s], %[d]"), d, s, 0x1F80);
    check_xmm_op(h, "maxsd", SD(0x5F), NATIVE_XMM("maxsd %[s], %[d]"), d, s, 0x1F80);
    EXPECT_EQ(h.cpu.xmm[0].u64[0], f64_bits(p.b));  // max returned the source in each case
  }
}

// Immediate forms, each immediate value checked: cmp* predicates 0-7, round* modes 0-15
// (bit 2 selects MXCSR rounding, bit 3 suppresses precision), dpps/dppd masks.
template <int Imm>
void immediate_forms(InterpHarness& h, XmmGen& g) {
  constexpr uint8_t i8 = uint8_t(Imm);
  struct ImmCase {
    const char* name;
    std::vector<uint8_t> bytes;
    NativeBin native;
    Kind kind;
  };
  std::vector<ImmCase> cases;
  if (Imm < 8) {
    cases.push_back({"cmpps", {0x0F, 0xC2, 0xC1, i8}, NATIVE_XMM_IMM("cmpps %[i], %[s], %[d]", Imm), Kind::F32});
    cases.push_back({"cmppd", {0x66, 0x0F, 0xC2, 0xC1, i8}, NATIVE_XMM_IMM("cmppd %[i], %[s], %[d]", Imm), Kind::F64});
    cases.push_back({"cmpss", {0xF3, 0x0F, 0xC2, 0xC1, i8}, NATIVE_XMM_IMM("cmpss %[i], %[s], %[d]", Imm), Kind::F32});
    cases.push_back({"cmpsd", {0xF2, 0x0F, 0xC2, 0xC1, i8}, NATIVE_XMM_IMM("cmpsd %[i], %[s], %[d]", Imm), Kind::F64});
  }
  if (Imm < 16) {
    cases.push_back({"roundps", {0x66, 0x0F, 0x3A, 0x08, 0xC1, i8}, NATIVE_XMM_IMM("roundps %[i], %[s], %[d]", Imm), Kind::F32});
    cases.push_back({"roundpd", {0x66, 0x0F, 0x3A, 0x09, 0xC1, i8}, NATIVE_XMM_IMM("roundpd %[i], %[s], %[d]", Imm), Kind::F64});
    cases.push_back({"roundss", {0x66, 0x0F, 0x3A, 0x0A, 0xC1, i8}, NATIVE_XMM_IMM("roundss %[i], %[s], %[d]", Imm), Kind::F32});
    cases.push_back({"roundsd", {0x66, 0x0F, 0x3A, 0x0B, 0xC1, i8}, NATIVE_XMM_IMM("roundsd %[i], %[s], %[d]", Imm), Kind::F64});
  }
  cases.push_back({"dpps", {0x66, 0x0F, 0x3A, 0x40, 0xC1, i8}, NATIVE_XMM_IMM("dpps %[i], %[s], %[d]", Imm), Kind::F32});
  cases.push_back({"dppd", {0x66, 0x0F, 0x3A, 0x41, 0xC1, i8}, NATIVE_XMM_IMM("dppd %[i], %[s], %[d]", Imm), Kind::F64});
  for (const ImmCase& c : cases)
    for (uint32_t csr : test_mxcsrs())
      for (int i = 0; i < 12; ++i) {
        Xmm a = c.kind == Kind::F32 ? g.f32() : g.f64();
        Xmm b = c.kind == Kind::F32 ? g.f32() : g.f64();
        if (i % 4 == 0) b = a;
        check_xmm_op(h, c.name, c.bytes, c.native, a, b, csr);
      }
}

template <size_t... I>
void all_immediates(InterpHarness& h, XmmGen& g, std::index_sequence<I...>) {
  (immediate_forms<int(I)>(h, g), ...);
}

TEST(InterpSseFp, ImmediateFormsMatchNative) {
  InterpHarness h;
  XmmGen g(11);
  all_immediates(h, g, std::make_index_sequence<256>());
}

// comiss/ucomiss/comisd/ucomisd: ZF PF CF (and cleared OF SF AF) plus MXCSR flags (comi
// signals invalid on QNaN, ucomi only on SNaN).
TEST(InterpSseFp, ComiFlagsMatchNative) {
  InterpHarness h;
  XmmGen g(3);
  struct Comi {
    const char* name;
    std::vector<uint8_t> bytes;
    uint64_t (*native)(const Xmm&, const Xmm&, uint32_t&);
    Kind kind;
  };
#define COMI(text)                                                                   \
  [](const Xmm& a, const Xmm& b, uint32_t& csr) -> uint64_t {                        \
    __m128i av, bv;                                                                  \
    std::memcpy(&av, &a, 16);                                                        \
    std::memcpy(&bv, &b, 16);                                                        \
    uint64_t fl;                                                                     \
    uint32_t saved;                                                                  \
    asm volatile("stmxcsr %[sv]\n\tldmxcsr %[c]\n\t" text " %[b], %[a]\n\t"          \
                 "pushfq\n\tpopq %[f]\n\tstmxcsr %[c]\n\tldmxcsr %[sv]"              \
                 : [f] "=r"(fl), [c] "+m"(csr), [sv] "=m"(saved)                     \
                 : [a] "x"(av), [b] "x"(bv)                                          \
                 : "cc");                                                            \
    return fl;                                                                       \
  }
  const Comi cases[] = {{"comiss", PS(0x2F), COMI("comiss"), Kind::F32},
                        {"ucomiss", PS(0x2E), COMI("ucomiss"), Kind::F32},
                        {"comisd", PD(0x2F), COMI("comisd"), Kind::F64},
                        {"ucomisd", PD(0x2E), COMI("ucomisd"), Kind::F64}};
#undef COMI
  for (const Comi& c : cases)
    for (uint32_t csr : test_mxcsrs())
      for (int i = 0; i < 80; ++i) {
        Xmm a = c.kind == Kind::F32 ? g.f32() : g.f64();
        Xmm b = c.kind == Kind::F32 ? g.f32() : g.f64();
        if (i % 6 == 0) b = a;
        uint32_t ncsr = csr;
        uint64_t nf = c.native(a, b, ncsr) & kArithFlags;
        h.cpu.xmm[0] = a;
        h.cpu.xmm[1] = b;
        h.cpu.mxcsr = csr;
        h.cpu.rflags = flag::FIXED1 | flag::ARITH;  // stale flags must all be replaced
        ASSERT_EQ(h.run(c.bytes), StopReason::None);
        EXPECT_EQ(h.cpu.rflags & kArithFlags, nf) << c.name << " " << hex(a) << " " << hex(b);
        EXPECT_EQ(h.cpu.mxcsr, ncsr) << c.name << " " << hex(a) << " " << hex(b);
      }
}

// cvt(t)ss2si / cvt(t)sd2si to 32- and 64-bit registers, including the integer-indefinite
// value (0x80000000 / 0x8000000000000000) on NaN and overflow, under every rounding mode.
TEST(InterpSseFp, ConversionsToIntegerMatchNative) {
  InterpHarness h;
  XmmGen g(5);
  struct ToInt {
    const char* name;
    std::vector<uint8_t> bytes;  // op eax/rax, xmm1
    uint64_t (*native)(const Xmm&, uint32_t&);
    Kind kind;
  };
#define TOINT(text, reg)                                                            \
  [](const Xmm& s, uint32_t& csr) -> uint64_t {                                    \
    __m128i sv;                                                                    \
    std::memcpy(&sv, &s, 16);                                                      \
    uint64_t r = 0x5555555555555555;                                               \
    uint32_t saved;                                                                \
    asm volatile("stmxcsr %[sv]\n\tldmxcsr %[c]\n\t" text " %[s], %" reg "[r]\n\t" \
                 "stmxcsr %[c]\n\tldmxcsr %[sv]"                                   \
                 : [r] "+r"(r), [c] "+m"(csr), [sv] "=m"(saved)                    \
                 : [s] "x"(sv));                                                   \
    return r;                                                                      \
  }
  const ToInt cases[] = {
      {"cvtss2si32", {0xF3, 0x0F, 0x2D, 0xC1}, TOINT("cvtss2si", "k"), Kind::F32},
      {"cvtss2si64", {0xF3, 0x48, 0x0F, 0x2D, 0xC1}, TOINT("cvtss2si", "q"), Kind::F32},
      {"cvttss2si32", {0xF3, 0x0F, 0x2C, 0xC1}, TOINT("cvttss2si", "k"), Kind::F32},
      {"cvttss2si64", {0xF3, 0x48, 0x0F, 0x2C, 0xC1}, TOINT("cvttss2si", "q"), Kind::F32},
      {"cvtsd2si32", {0xF2, 0x0F, 0x2D, 0xC1}, TOINT("cvtsd2si", "k"), Kind::F64},
      {"cvtsd2si64", {0xF2, 0x48, 0x0F, 0x2D, 0xC1}, TOINT("cvtsd2si", "q"), Kind::F64},
      {"cvttsd2si32", {0xF2, 0x0F, 0x2C, 0xC1}, TOINT("cvttsd2si", "k"), Kind::F64},
      {"cvttsd2si64", {0xF2, 0x48, 0x0F, 0x2C, 0xC1}, TOINT("cvttsd2si", "q"), Kind::F64},
  };
#undef TOINT
  for (const ToInt& c : cases)
    for (uint32_t csr : test_mxcsrs())
      for (int i = 0; i < 80; ++i) {
        Xmm s = c.kind == Kind::F32 ? g.f32() : g.f64();
        uint32_t ncsr = csr;
        uint64_t want = c.native(s, ncsr);
        // A 32-bit destination write zero-extends into the 64-bit register.
        if (std::string(c.name).ends_with("32")) want = uint32_t(want);
        h.cpu.xmm[1] = s;
        h.cpu.gpr[RAX] = 0x5555555555555555;
        h.cpu.mxcsr = csr;
        ASSERT_EQ(h.run(c.bytes), StopReason::None);
        EXPECT_EQ(h.cpu.gpr[RAX], want) << c.name << " " << hex(s) << " csr " << csr;
        EXPECT_EQ(h.cpu.mxcsr, ncsr) << c.name << " " << hex(s);
      }
  // The indefinite integer, spelled out once.
  h.cpu.xmm[1] = xmm_of(f64_bits(1e300), 0);
  h.cpu.mxcsr = 0x1F80;
  ASSERT_EQ(h.run({0xF2, 0x0F, 0x2C, 0xC1}), StopReason::None);
  EXPECT_EQ(h.cpu.gpr[RAX], 0x80000000u);
  EXPECT_EQ(h.cpu.mxcsr, 0x1F81u);  // invalid
}

// cvtsi2ss/cvtsi2sd from 32/64-bit registers (rounding matters for large 64-bit values) and
// from memory; the upper lanes of the destination are kept.
TEST(InterpSseFp, ConversionsFromIntegerMatchNative) {
  InterpHarness h;
  XmmGen g(9);
  const int64_t edges[] = {0, 1, -1, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN,
                           (1ll << 53) + 1, (1ll << 24) + 1, -((1ll << 60) + 12345)};
  for (uint32_t csr : test_mxcsrs())
    for (int i = 0; i < 60; ++i) {
      int64_t v = i < 10 ? edges[i] : int64_t(g.next());
      Xmm d = g.bits();
      __m128i dv;
      std::memcpy(&dv, &d, 16);
      struct { std::vector<uint8_t> bytes; __m128i want; uint32_t csr; } forms[4];
      uint32_t saved;
#define FROMINT(k, text, reg, bytes_)                                                       \
  forms[k].bytes = bytes_;                                                                  \
  forms[k].want = dv;                                                                       \
  forms[k].csr = csr;                                                                       \
  asm volatile("stmxcsr %[sv]\n\tldmxcsr %[c]\n\t" text " %" reg "[v], %[d]\n\t"            \
               "stmxcsr %[c]\n\tldmxcsr %[sv]"                                              \
               : [d] "+x"(forms[k].want), [c] "+m"(forms[k].csr), [sv] "=m"(saved)          \
               : [v] "r"(v));
      FROMINT(0, "cvtsi2ssl", "k", (std::vector<uint8_t>{0xF3, 0x0F, 0x2A, 0xC1}))
      FROMINT(1, "cvtsi2ssq", "q", (std::vector<uint8_t>{0xF3, 0x48, 0x0F, 0x2A, 0xC1}))
      FROMINT(2, "cvtsi2sdl", "k", (std::vector<uint8_t>{0xF2, 0x0F, 0x2A, 0xC1}))
      FROMINT(3, "cvtsi2sdq", "q", (std::vector<uint8_t>{0xF2, 0x48, 0x0F, 0x2A, 0xC1}))
#undef FROMINT
      for (auto& f : forms) {
        h.cpu.xmm[0] = d;
        h.cpu.gpr[RCX] = uint64_t(v);
        h.cpu.mxcsr = csr;
        ASSERT_EQ(h.run(f.bytes), StopReason::None);
        Xmm want;
        std::memcpy(&want, &f.want, 16);
        EXPECT_TRUE(same(h.cpu.xmm[0], want)) << v << " " << hex(h.cpu.xmm[0]) << " " << hex(want);
        EXPECT_EQ(h.cpu.mxcsr, f.csr) << v;
      }
    }
  // Memory source: cvtsi2sd xmm0, qword [rbx].
  std::memcpy(h.data(), &edges[5], 8);
  h.cpu.gpr[RBX] = InterpHarness::kData;
  h.cpu.mxcsr = 0x1F80;
  ASSERT_EQ(h.run({0xF2, 0x48, 0x0F, 0x2A, 0x03}), StopReason::None);
  EXPECT_EQ(h.cpu.xmm[0].f64[0], 9223372036854775807.0);
  EXPECT_EQ(h.cpu.mxcsr, 0x1FA0u);  // precision (inexact)
}

// Memory operands: a 16-byte operand must be aligned (#GP otherwise, registers untouched);
// scalar memory operands read only their element, at any alignment.
TEST(InterpSseFp, MemoryOperandsAndAlignment) {
  InterpHarness h;
  double vals[2] = {1.25, -8.5};
  std::memcpy(h.data() + 0x100, vals, 16);
  std::memcpy(h.data() + 0x208, vals, 16);
  h.cpu.xmm[0] = xmm_of(f64_bits(2.0), f64_bits(4.0));
  h.cpu.gpr[RBX] = InterpHarness::kData + 0x100;
  ASSERT_EQ(h.run({0x66, 0x0F, 0x58, 0x03}), StopReason::None);  // addpd xmm0, [rbx]
  EXPECT_EQ(h.cpu.xmm[0].f64[0], 3.25);
  EXPECT_EQ(h.cpu.xmm[0].f64[1], -4.5);
  h.cpu.gpr[RBX] = InterpHarness::kData + 0x208;  // misaligned by 8
  Xmm before = h.cpu.xmm[0];
  ASSERT_EQ(h.run({0x66, 0x0F, 0x58, 0x03}), StopReason::Fault);
  EXPECT_EQ(h.cpu.fault.vector, VEC_GP);
  EXPECT_EQ(h.cpu.rip, InterpHarness::kCode);
  EXPECT_TRUE(same(h.cpu.xmm[0], before));
  // mulsd xmm0, [rbx] at the misaligned address is fine: an 8-byte scalar operand.
  ASSERT_EQ(h.run({0xF2, 0x0F, 0x59, 0x03}), StopReason::None);
  EXPECT_EQ(h.cpu.xmm[0].f64[0], 3.25 * 1.25);
  EXPECT_EQ(h.cpu.xmm[0].f64[1], -4.5);
}

// Unmasked exceptions raise #XM: the destination is not written, the flag is recorded.
TEST(InterpSseFp, UnmaskedExceptionRaisesXm) {
  InterpHarness h;
  h.cpu.xmm[0] = xmm_of(f64_bits(1.0), 0);
  h.cpu.xmm[1] = xmm_of(f64_bits(0.0), 0);
  h.cpu.mxcsr = 0x1F80 & ~0x200u;  // divide-by-zero unmasked
  ASSERT_EQ(h.run({0xF2, 0x0F, 0x5E, 0xC1}), StopReason::Fault);  // divsd xmm0, xmm1
  EXPECT_EQ(h.cpu.fault.vector, VEC_XM);
  EXPECT_EQ(h.cpu.xmm[0].f64[0], 1.0);
  EXPECT_EQ(h.cpu.mxcsr, (0x1F80 & ~0x200u) | 0x4);
  // Masked, the same division gives +inf and only sets the flag.
  h.cpu.mxcsr = 0x1F80;
  ASSERT_EQ(h.run({0xF2, 0x0F, 0x5E, 0xC1}), StopReason::None);
  EXPECT_TRUE(std::isinf(h.cpu.xmm[0].f64[0]));
  EXPECT_EQ(h.cpu.mxcsr, 0x1F84u);
  // Precision unmasked: 1/3 is inexact.
  h.cpu.xmm[0] = xmm_of(f64_bits(1.0), 0);
  h.cpu.xmm[1] = xmm_of(f64_bits(3.0), 0);
  h.cpu.mxcsr = 0x0F80;
  ASSERT_EQ(h.run({0xF2, 0x0F, 0x5E, 0xC1}), StopReason::Fault);
  EXPECT_EQ(h.cpu.fault.vector, VEC_XM);
  EXPECT_EQ(h.cpu.mxcsr, 0x0FA0u);
}

}  // namespace
}  // namespace vireo::test
