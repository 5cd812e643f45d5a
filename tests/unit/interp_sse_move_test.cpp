// SSE data movement on the interpreter: movd/movq (GPR and XMM forms), scalar move merge vs
// zero rules, half moves, movmsk*, insert/extract, MXCSR load/store, alignment rules, masked
// stores, SSE3 duplicating moves; expected values from the host where it can run the same form.
#include "interp_sse_test_util.h"

namespace vireo::test {
namespace {

constexpr uint64_t A = 0x1111222233334444, B = 0x5555666677778888;
constexpr uint64_t C = 0x99990000AAAABBBB, D = 0xCCCCDDDDEEEEFFFF;

TEST(InterpSseMove, MovdMovq) {
  InterpHarness h;
  h.cpu.xmm[0] = xmm_of(A, B);
  h.cpu.gpr[RAX] = 0xFEDCBA9876543210;
  ASSERT_EQ(h.run({0x66, 0x0F, 0x6E, 0xC0}), StopReason::None);  // movd xmm0, eax
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of(0x76543210, 0)));
  ASSERT_EQ(h.run({0x66, 0x48, 0x0F, 0x6E, 0xC0}), StopReason::None);  // movq xmm0, rax
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of(0xFEDCBA9876543210, 0)));
  h.cpu.xmm[1] = xmm_of(C, D);
  h.cpu.gpr[RCX] = ~0ull;
  ASSERT_EQ(h.run({0x66, 0x0F, 0x7E, 0xC9}), StopReason::None);  // movd ecx, xmm1
  EXPECT_EQ(h.cpu.gpr[RCX], 0xAAAABBBBu);                          // zero-extended
  ASSERT_EQ(h.run({0x66, 0x48, 0x0F, 0x7E, 0xC9}), StopReason::None);  // movq rcx, xmm1
  EXPECT_EQ(h.cpu.gpr[RCX], C);
  h.cpu.xmm[0] = xmm_of(A, B);
  ASSERT_EQ(h.run({0xF3, 0x0F, 0x7E, 0xC1}), StopReason::None);  // movq xmm0, xmm1
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of(C, 0)));
  h.cpu.xmm[0] = xmm_of(A, B);
  ASSERT_EQ(h.run({0x66, 0x0F, 0xD6, 0xC8}), StopReason::None);  // movq xmm0, xmm1 (D6 form)
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of(C, 0)));
  h.cpu.gpr[RBX] = InterpHarness::kData + 3;
  ASSERT_EQ(h.run({0x66, 0x0F, 0xD6, 0x0B}), StopReason::None);  // movq [rbx], xmm1
  uint64_t m;
  std::memcpy(&m, h.data() + 3, 8);
  EXPECT_EQ(m, C);
  ASSERT_EQ(h.run({0x66, 0x0F, 0x6E, 0x03}), StopReason::None);  // movd xmm0, [rbx]
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of(uint32_t(C), 0)));
}

TEST(InterpSseMove, ScalarMovesMergeOrZero) {
  InterpHarness h;
  h.cpu.xmm[0] = xmm_of(A, B);
  h.cpu.xmm[1] = xmm_of(C, D);
  ASSERT_EQ(h.run({0xF3, 0x0F, 0x10, 0xC1}), StopReason::None);  // movss xmm0, xmm1: merge
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of((A & ~0xFFFFFFFFull) | (C & 0xFFFFFFFF), B)));
  h.cpu.xmm[0] = xmm_of(A, B);
  ASSERT_EQ(h.run({0xF2, 0x0F, 0x10, 0xC1}), StopReason::None);  // movsd xmm0, xmm1: merge
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of(C, B)));
  h.cpu.gpr[RBX] = InterpHarness::kData + 4;
  ASSERT_EQ(h.run({0xF2, 0x0F, 0x11, 0x0B}), StopReason::None);  // movsd [rbx], xmm1
  ASSERT_EQ(h.run({0xF2, 0x0F, 0x10, 0x03}), StopReason::None);  // movsd xmm0, [rbx]: zero
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of(C, 0)));
  h.cpu.xmm[0] = xmm_of(A, B);
  ASSERT_EQ(h.run({0xF3, 0x0F, 0x10, 0x03}), StopReason::None);  // movss xmm0, [rbx]: zero
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of(C & 0xFFFFFFFF, 0)));
}

TEST(InterpSseMove, HalfMoves) {
  InterpHarness h;
  h.cpu.xmm[0] = xmm_of(A, B);
  h.cpu.xmm[1] = xmm_of(C, D);
  ASSERT_EQ(h.run({0x0F, 0x12, 0xC1}), StopReason::None);  // movhlps xmm0, xmm1
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of(D, B)));
  ASSERT_EQ(h.run({0x0F, 0x16, 0xC1}), StopReason::None);  // movlhps xmm0, xmm1
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of(D, C)));
  h.cpu.gpr[RBX] = InterpHarness::kData + 8;
  ASSERT_EQ(h.run({0x0F, 0x17, 0x0B}), StopReason::None);  // movhps [rbx], xmm1
  h.cpu.xmm[0] = xmm_of(A, B);
  ASSERT_EQ(h.run({0x66, 0x0F, 0x12, 0x03}), StopReason::None);  // movlpd xmm0, [rbx]
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of(D, B)));
  ASSERT_EQ(h.run({0x66, 0x0F, 0x16, 0x03}), StopReason::None);  // movhpd xmm0, [rbx]
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of(D, D)));
  ASSERT_EQ(h.run({0x0F, 0x13, 0x0B}), StopReason::None);  // movlps [rbx], xmm1
  uint64_t m;
  std::memcpy(&m, h.data() + 8, 8);
  EXPECT_EQ(m, C);
}

TEST(InterpSseMove, AlignedAndUnalignedFullMoves) {
  InterpHarness h;
  h.cpu.xmm[1] = xmm_of(C, D);
  h.cpu.gpr[RBX] = InterpHarness::kData + 0x40;
  ASSERT_EQ(h.run({0x0F, 0x29, 0x0B}), StopReason::None);  // movaps [rbx], xmm1
  ASSERT_EQ(h.run({0x66, 0x0F, 0x6F, 0x03}), StopReason::None);  // movdqa xmm0, [rbx]
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of(C, D)));
  h.cpu.gpr[RBX] = InterpHarness::kData + 0x41;
  for (auto bytes : {std::vector<uint8_t>{0x0F, 0x28, 0x03}, {0x66, 0x0F, 0x6F, 0x03},
                     {0x66, 0x0F, 0x29, 0x0B}, {0x66, 0x0F, 0xE7, 0x0B}, {0x0F, 0x2B, 0x0B},
                     {0x66, 0x0F, 0xFE, 0x03}}) {
    ASSERT_EQ(h.run(bytes), StopReason::Fault);
    EXPECT_EQ(h.cpu.fault.vector, VEC_GP);
  }
  ASSERT_EQ(h.run({0xF3, 0x0F, 0x7F, 0x0B}), StopReason::None);  // movdqu [rbx], xmm1
  h.cpu.xmm[0] = xmm_of(0, 0);
  ASSERT_EQ(h.run({0x0F, 0x10, 0x03}), StopReason::None);  // movups xmm0, [rbx]
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of(C, D)));
  h.cpu.xmm[0] = xmm_of(0, 0);
  ASSERT_EQ(h.run({0xF2, 0x0F, 0xF0, 0x03}), StopReason::None);  // lddqu xmm0, [rbx]
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of(C, D)));
  h.cpu.gpr[RAX] = 0x123456789;
  ASSERT_EQ(h.run({0x48, 0x0F, 0xC3, 0x03}), StopReason::None);  // movnti [rbx], rax
  uint64_t m;
  std::memcpy(&m, h.data() + 0x41, 8);
  EXPECT_EQ(m, 0x123456789u);
}

TEST(InterpSseMove, MoveMasksMatchNative) {
  InterpHarness h;
  XmmGen g(31);
  for (int i = 0; i < 100; ++i) {
    Xmm v = g.bits();
    __m128i m;
    std::memcpy(&m, &v, 16);
    int ps = _mm_movemask_ps(_mm_castsi128_ps(m)), pd = _mm_movemask_pd(_mm_castsi128_pd(m)),
        pb = _mm_movemask_epi8(m);
    h.cpu.xmm[1] = v;
    h.cpu.gpr[RAX] = ~0ull;
    ASSERT_EQ(h.run({0x0F, 0x50, 0xC1}), StopReason::None);
    EXPECT_EQ(h.cpu.gpr[RAX], uint64_t(ps));
    ASSERT_EQ(h.run({0x66, 0x0F, 0x50, 0xC1}), StopReason::None);
    EXPECT_EQ(h.cpu.gpr[RAX], uint64_t(pd));
    ASSERT_EQ(h.run({0x66, 0x0F, 0xD7, 0xC1}), StopReason::None);
    EXPECT_EQ(h.cpu.gpr[RAX], uint64_t(pb));
  }
}

TEST(InterpSseMove, InsertExtract) {
  InterpHarness h;
  h.cpu.xmm[1] = xmm_of(C, D);
  h.cpu.gpr[RAX] = ~0ull;
  ASSERT_EQ(h.run({0x66, 0x0F, 0xC5, 0xC1, 5}), StopReason::None);  // pextrw eax, xmm1, 5
  EXPECT_EQ(h.cpu.gpr[RAX], 0xEEEEu);
  ASSERT_EQ(h.run({0x66, 0x0F, 0x3A, 0x14, 0xC8, 17}), StopReason::None);  // pextrb eax, xmm1, 17
  EXPECT_EQ(h.cpu.gpr[RAX], 0xBBu);
  ASSERT_EQ(h.run({0x66, 0x0F, 0x3A, 0x16, 0xC8, 3}), StopReason::None);  // pextrd eax, xmm1, 3
  EXPECT_EQ(h.cpu.gpr[RAX], 0xCCCCDDDDu);
  ASSERT_EQ(h.run({0x66, 0x48, 0x0F, 0x3A, 0x16, 0xC8, 1}), StopReason::None);  // pextrq
  EXPECT_EQ(h.cpu.gpr[RAX], D);
  h.cpu.gpr[RBX] = InterpHarness::kData;
  ASSERT_EQ(h.run({0x66, 0x0F, 0x3A, 0x15, 0x0B, 7}), StopReason::None);  // pextrw [rbx], xmm1, 7
  EXPECT_EQ(h.data()[0], 0xCC);
  h.cpu.xmm[0] = xmm_of(A, B);
  h.cpu.gpr[RCX] = 0x12345678;
  ASSERT_EQ(h.run({0x66, 0x0F, 0xC4, 0xC1, 2}), StopReason::None);  // pinsrw xmm0, ecx, 2
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of(0x1111567833334444, B)));
  ASSERT_EQ(h.run({0x66, 0x0F, 0x3A, 0x20, 0xC1, 15}), StopReason::None);  // pinsrb xmm0, ecx, 15
  EXPECT_EQ(h.cpu.xmm[0].u8[15], 0x78);
  ASSERT_EQ(h.run({0x66, 0x0F, 0x3A, 0x22, 0xC1, 0}), StopReason::None);  // pinsrd xmm0, ecx, 0
  EXPECT_EQ(h.cpu.xmm[0].u32[0], 0x12345678u);
  ASSERT_EQ(h.run({0x66, 0x48, 0x0F, 0x3A, 0x22, 0xC1, 1}), StopReason::None);  // pinsrq
  EXPECT_EQ(h.cpu.xmm[0].u64[1], 0x12345678u);
  // insertps / extractps against the host for every immediate.
  XmmGen g(33);
  for (int imm = 0; imm < 256; ++imm) {
    Xmm d = g.bits(), s = g.bits();
    __m128 dv, sv;
    std::memcpy(&dv, &d, 16);
    std::memcpy(&sv, &s, 16);
    Xmm want;
#define INS(k) case k: asm("insertps %[i], %[s], %[d]" : [d] "+x"(dv) : [s] "x"(sv), [i] "i"(k)); break;
#define INS16(k) INS(k) INS(k + 1) INS(k + 2) INS(k + 3) INS(k + 4) INS(k + 5) INS(k + 6) \
  INS(k + 7) INS(k + 8) INS(k + 9) INS(k + 10) INS(k + 11) INS(k + 12) INS(k + 13) INS(k + 14) INS(k + 15)
    switch (imm) {
      INS16(0) INS16(16) INS16(32) INS16(48) INS16(64) INS16(80) INS16(96) INS16(112)
      INS16(128) INS16(144) INS16(160) INS16(176) INS16(192) INS16(208) INS16(224) INS16(240)
    }
#undef INS16
#undef INS
    std::memcpy(&want, &dv, 16);
    h.cpu.xmm[0] = d;
    h.cpu.xmm[1] = s;
    ASSERT_EQ(h.run({0x66, 0x0F, 0x3A, 0x21, 0xC1, uint8_t(imm)}), StopReason::None);
    EXPECT_TRUE(same(h.cpu.xmm[0], want)) << imm;
    h.cpu.gpr[RAX] = ~0ull;
    ASSERT_EQ(h.run({0x66, 0x0F, 0x3A, 0x17, 0xC8, uint8_t(imm)}), StopReason::None);
    EXPECT_EQ(h.cpu.gpr[RAX], s.u32[imm & 3]);
  }
}

TEST(InterpSseMove, LdmxcsrStmxcsr) {
  InterpHarness h;
  h.cpu.gpr[RBX] = InterpHarness::kData;
  uint32_t v = 0x7F80 | 0x8040;  // round toward zero, FTZ, DAZ
  std::memcpy(h.data(), &v, 4);
  ASSERT_EQ(h.run({0x0F, 0xAE, 0x13}), StopReason::None);  // ldmxcsr [rbx]
  EXPECT_EQ(h.cpu.mxcsr, v);
  ASSERT_EQ(h.run({0x0F, 0xAE, 0x5B, 0x10}), StopReason::None);  // stmxcsr [rbx+16]
  uint32_t out;
  std::memcpy(&out, h.data() + 16, 4);
  EXPECT_EQ(out, v);
  v = 0x10000 | 0x1F80;  // a reserved bit
  std::memcpy(h.data(), &v, 4);
  ASSERT_EQ(h.run({0x0F, 0xAE, 0x13}), StopReason::Fault);
  EXPECT_EQ(h.cpu.fault.vector, VEC_GP);
  EXPECT_EQ(h.cpu.mxcsr, 0x7F80u | 0x8040u);
}

TEST(InterpSseMove, MaskMovdquStoresSelectedBytes) {
  InterpHarness h;
  std::memset(h.data(), 0xEE, 32);
  h.cpu.xmm[0] = xmm_of(A, B);
  h.cpu.xmm[1] = xmm_of(0x80000000000000FF, 0x0080000000000000);
  h.cpu.gpr[RDI] = InterpHarness::kData + 1;
  ASSERT_EQ(h.run({0x66, 0x0F, 0xF7, 0xC1}), StopReason::None);
  const uint8_t* m = h.data() + 1;
  EXPECT_EQ(m[0], 0x44);
  EXPECT_EQ(m[1], 0xEE);
  EXPECT_EQ(m[7], 0x11);
  EXPECT_EQ(m[14], 0x55);
  EXPECT_EQ(m[15], 0xEE);
}

TEST(InterpSseMove, Sse3DuplicatingMoves) {
  InterpHarness h;
  h.cpu.xmm[1] = xmm_of(C, D);
  ASSERT_EQ(h.run({0xF2, 0x0F, 0x12, 0xC1}), StopReason::None);  // movddup
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of(C, C)));
  ASSERT_EQ(h.run({0xF3, 0x0F, 0x16, 0xC1}), StopReason::None);  // movshdup
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of(0x99990000'99990000, 0xCCCCDDDD'CCCCDDDD)));
  ASSERT_EQ(h.run({0xF3, 0x0F, 0x12, 0xC1}), StopReason::None);  // movsldup
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of(0xAAAABBBB'AAAABBBB, 0xEEEEFFFF'EEEEFFFF)));
  // pmovzxbw from an unaligned m64 (no alignment rule for the narrow source).
  uint64_t bytes = 0x80FF017F00112233;
  std::memcpy(h.data() + 3, &bytes, 8);
  h.cpu.gpr[RBX] = InterpHarness::kData + 3;
  ASSERT_EQ(h.run({0x66, 0x0F, 0x38, 0x30, 0x03}), StopReason::None);
  EXPECT_EQ(h.cpu.xmm[0].u16[0], 0x33);
  EXPECT_EQ(h.cpu.xmm[0].u16[7], 0x80);
  ASSERT_EQ(h.run({0x66, 0x0F, 0x38, 0x20, 0x03}), StopReason::None);  // pmovsxbw
  EXPECT_EQ(h.cpu.xmm[0].u16[7], 0xFF80);
  EXPECT_EQ(h.cpu.xmm[0].u16[4], 0x007F);
}

// movntdqa (SSE4.1): an aligned non-temporal load; misaligned is #GP, a register source #UD.
TEST(InterpSseMove, Movntdqa) {
  InterpHarness h;
  uint64_t v[2] = {C, D};
  std::memcpy(h.data() + 0x30, v, 16);
  h.cpu.gpr[RBX] = InterpHarness::kData + 0x30;
  ASSERT_EQ(h.run({0x66, 0x0F, 0x38, 0x2A, 0x03}), StopReason::None);
  EXPECT_TRUE(same(h.cpu.xmm[0], xmm_of(C, D)));
  h.cpu.gpr[RBX] += 4;
  ASSERT_EQ(h.run({0x66, 0x0F, 0x38, 0x2A, 0x03}), StopReason::Fault);
  EXPECT_EQ(h.cpu.fault.vector, VEC_GP);
}

}  // namespace
}  // namespace vireo::test
