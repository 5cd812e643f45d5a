// SSE packed integer, logic, shift, shuffle, unpack and pack instructions (SSE2, SSSE3,
// SSE4.1, SSE4.2 pcmpgtq) on the interpreter versus the host executing the same instruction.
#include "interp_sse_test_util.h"

namespace vireo::test {
namespace {

struct IntCase {
  const char* name;
  std::vector<uint8_t> bytes;  // op xmm0, xmm1 [, imm]
  NativeBin native;
};

#define P66(op) {0x66, 0x0F, op, 0xC1}
#define P38(op) {0x66, 0x0F, 0x38, op, 0xC1}
#define I(name, bytes) {name, bytes, NATIVE_XMM(name " %[s], %[d]")}
#define IMM(name, bytes, imm) {name " " #imm, bytes, NATIVE_XMM(name " $" #imm ", %[s], %[d]")}

std::vector<IntCase> int_cases() {
  return {
      I("paddb", P66(0xFC)), I("paddw", P66(0xFD)), I("paddd", P66(0xFE)), I("paddq", P66(0xD4)),
      I("psubb", P66(0xF8)), I("psubw", P66(0xF9)), I("psubd", P66(0xFA)), I("psubq", P66(0xFB)),
      I("paddsb", P66(0xEC)), I("paddsw", P66(0xED)), I("paddusb", P66(0xDC)),
      I("paddusw", P66(0xDD)), I("psubsb", P66(0xE8)), I("psubsw", P66(0xE9)),
      I("psubusb", P66(0xD8)), I("psubusw", P66(0xD9)), I("pmullw", P66(0xD5)),
      I("pmulhw", P66(0xE5)), I("pmulhuw", P66(0xE4)), I("pmuludq", P66(0xF4)),
      I("pmaddwd", P66(0xF5)), I("psadbw", P66(0xF6)), I("pavgb", P66(0xE0)),
      I("pavgw", P66(0xE3)), I("pminub", P66(0xDA)), I("pmaxub", P66(0xDE)),
      I("pminsw", P66(0xEA)), I("pmaxsw", P66(0xEE)), I("pcmpeqb", P66(0x74)),
      I("pcmpeqw", P66(0x75)), I("pcmpeqd", P66(0x76)), I("pcmpgtb", P66(0x64)),
      I("pcmpgtw", P66(0x65)), I("pcmpgtd", P66(0x66)), I("pand", P66(0xDB)),
      I("pandn", P66(0xDF)), I("por", P66(0xEB)), I("pxor", P66(0xEF)),
      I("andps", (std::vector<uint8_t>{0x0F, 0x54, 0xC1})),
      I("andnps", (std::vector<uint8_t>{0x0F, 0x55, 0xC1})),
      I("orps", (std::vector<uint8_t>{0x0F, 0x56, 0xC1})),
      I("xorps", (std::vector<uint8_t>{0x0F, 0x57, 0xC1})), I("andpd", P66(0x54)),
      I("andnpd", P66(0x55)), I("orpd", P66(0x56)), I("xorpd", P66(0x57)),
      // shifts by register count (the count's low 64 bits; big counts included below)
      I("psrlw", P66(0xD1)), I("psrld", P66(0xD2)), I("psrlq", P66(0xD3)),
      I("psraw", P66(0xE1)), I("psrad", P66(0xE2)), I("psllw", P66(0xF1)),
      I("pslld", P66(0xF2)), I("psllq", P66(0xF3)),
      // unpacks and packs
      I("punpcklbw", P66(0x60)), I("punpcklwd", P66(0x61)), I("punpckldq", P66(0x62)),
      I("packsswb", P66(0x63)), I("packuswb", P66(0x67)), I("punpckhbw", P66(0x68)),
      I("punpckhwd", P66(0x69)), I("punpckhdq", P66(0x6A)), I("packssdw", P66(0x6B)),
      I("punpcklqdq", P66(0x6C)), I("punpckhqdq", P66(0x6D)),
      I("unpcklps", (std::vector<uint8_t>{0x0F, 0x14, 0xC1})),
      I("unpckhps", (std::vector<uint8_t>{0x0F, 0x15, 0xC1})), I("unpcklpd", P66(0x14)),
      I("unpckhpd", P66(0x15)),
      // shuffles with immediates
      IMM("pshufd", (std::vector<uint8_t>{0x66, 0x0F, 0x70, 0xC1, 0x1B}), 0x1B),
      IMM("pshufd", (std::vector<uint8_t>{0x66, 0x0F, 0x70, 0xC1, 0xE4}), 0xE4),
      IMM("pshufhw", (std::vector<uint8_t>{0xF3, 0x0F, 0x70, 0xC1, 0x9C}), 0x9C),
      IMM("pshuflw", (std::vector<uint8_t>{0xF2, 0x0F, 0x70, 0xC1, 0x4E}), 0x4E),
      IMM("shufps", (std::vector<uint8_t>{0x0F, 0xC6, 0xC1, 0x72}), 0x72),
      IMM("shufpd", (std::vector<uint8_t>{0x66, 0x0F, 0xC6, 0xC1, 0x02}), 0x02),
      IMM("shufpd", (std::vector<uint8_t>{0x66, 0x0F, 0xC6, 0xC1, 0x01}), 0x01),
      // SSSE3
      I("pshufb", P38(0x00)), I("phaddw", P38(0x01)), I("phaddd", P38(0x02)),
      I("phaddsw", P38(0x03)), I("pmaddubsw", P38(0x04)), I("phsubw", P38(0x05)),
      I("phsubd", P38(0x06)), I("phsubsw", P38(0x07)), I("psignb", P38(0x08)),
      I("psignw", P38(0x09)), I("psignd", P38(0x0A)), I("pmulhrsw", P38(0x0B)),
      I("pabsb", P38(0x1C)), I("pabsw", P38(0x1D)), I("pabsd", P38(0x1E)),
      IMM("palignr", (std::vector<uint8_t>{0x66, 0x0F, 0x3A, 0x0F, 0xC1, 5}), 5),
      IMM("palignr", (std::vector<uint8_t>{0x66, 0x0F, 0x3A, 0x0F, 0xC1, 16}), 16),
      IMM("palignr", (std::vector<uint8_t>{0x66, 0x0F, 0x3A, 0x0F, 0xC1, 27}), 27),
      IMM("palignr", (std::vector<uint8_t>{0x66, 0x0F, 0x3A, 0x0F, 0xC1, 40}), 40),
      // SSE4.1
      I("pmovsxbw", P38(0x20)), I("pmovsxbd", P38(0x21)), I("pmovsxbq", P38(0x22)),
      I("pmovsxwd", P38(0x23)), I("pmovsxwq", P38(0x24)), I("pmovsxdq", P38(0x25)),
      I("pmuldq", P38(0x28)), I("pcmpeqq", P38(0x29)), I("packusdw", P38(0x2B)),
      I("pmovzxbw", P38(0x30)), I("pmovzxbd", P38(0x31)), I("pmovzxbq", P38(0x32)),
      I("pmovzxwd", P38(0x33)), I("pmovzxwq", P38(0x34)), I("pmovzxdq", P38(0x35)),
      I("pcmpgtq", P38(0x37)), I("pminsb", P38(0x38)), I("pminsd", P38(0x39)),
      I("pminuw", P38(0x3A)), I("pminud", P38(0x3B)), I("pmaxsb", P38(0x3C)),
      I("pmaxsd", P38(0x3D)), I("pmaxuw", P38(0x3E)), I("pmaxud", P38(0x3F)),
      I("pmulld", P38(0x40)), I("phminposuw", P38(0x41)),
      IMM("blendps", (std::vector<uint8_t>{0x66, 0x0F, 0x3A, 0x0C, 0xC1, 0x5}), 0x5),
      IMM("blendpd", (std::vector<uint8_t>{0x66, 0x0F, 0x3A, 0x0D, 0xC1, 0x2}), 0x2),
      IMM("pblendw", (std::vector<uint8_t>{0x66, 0x0F, 0x3A, 0x0E, 0xC1, 0xA6}), 0xA6),
      IMM("mpsadbw", (std::vector<uint8_t>{0x66, 0x0F, 0x3A, 0x42, 0xC1, 0x0}), 0x0),
      IMM("mpsadbw", (std::vector<uint8_t>{0x66, 0x0F, 0x3A, 0x42, 0xC1, 0x7}), 0x7),
      IMM("mpsadbw", (std::vector<uint8_t>{0x66, 0x0F, 0x3A, 0x42, 0xC1, 0x2}), 0x2),
  };
}

TEST(InterpSseInt, BinaryOpsMatchNative) {
  InterpHarness h;
  XmmGen g(21);
  for (const IntCase& c : int_cases())
    for (int i = 0; i < 300; ++i) {
      Xmm d = g.bits(), s = g.bits();
      if (i % 7 == 0) s = d;                 // equal inputs: compares, sad, sign
      if (i % 11 == 0) s.u64[0] = i % 70;    // small shift counts (and big ones above 64)
      check_xmm_op(h, c.name, c.bytes, c.native, d, s, 0x1F80);
    }
}

// Shifts by an immediate (group 12/13/14 encodings, 66 0F 71/72/73 /r ib on xmm0), with counts
// inside and beyond the lane width; pslldq/psrldq shift bytes.
TEST(InterpSseInt, ShiftByImmediateMatchesNative) {
  InterpHarness h;
  XmmGen g(23);
  struct ShiftCase {
    const char* name;
    uint8_t opcode, modrm;
    Xmm (*native)(Xmm, int);
  };
#define SH(text)                                                                 \
  [](Xmm v, int n) {                                                             \
    __m128i m;                                                                   \
    std::memcpy(&m, &v, 16);                                                     \
    switch (n) {                                                                 \
      case 0: asm(text " $0, %0" : "+x"(m)); break;                              \
      case 1: asm(text " $1, %0" : "+x"(m)); break;                              \
      case 7: asm(text " $7, %0" : "+x"(m)); break;                              \
      case 15: asm(text " $15, %0" : "+x"(m)); break;                            \
      case 16: asm(text " $16, %0" : "+x"(m)); break;                            \
      case 31: asm(text " $31, %0" : "+x"(m)); break;                            \
      case 33: asm(text " $33, %0" : "+x"(m)); break;                            \
      case 63: asm(text " $63, %0" : "+x"(m)); break;                            \
      case 64: asm(text " $64, %0" : "+x"(m)); break;                            \
      default: asm(text " $200, %0" : "+x"(m)); break;                           \
    }                                                                            \
    std::memcpy(&v, &m, 16);                                                     \
    return v;                                                                    \
  }
  const ShiftCase cases[] = {
      {"psrlw", 0x71, 0xD0, SH("psrlw")}, {"psraw", 0x71, 0xE0, SH("psraw")},
      {"psllw", 0x71, 0xF0, SH("psllw")}, {"psrld", 0x72, 0xD0, SH("psrld")},
      {"psrad", 0x72, 0xE0, SH("psrad")}, {"pslld", 0x72, 0xF0, SH("pslld")},
      {"psrlq", 0x73, 0xD0, SH("psrlq")}, {"psllq", 0x73, 0xF0, SH("psllq")},
      {"psrldq", 0x73, 0xD8, SH("psrldq")}, {"pslldq", 0x73, 0xF8, SH("pslldq")},
  };
#undef SH
  const int counts[] = {0, 1, 7, 15, 16, 31, 33, 63, 64, 200};
  for (const ShiftCase& c : cases)
    for (int n : counts)
      for (int i = 0; i < 10; ++i) {
        Xmm v = g.bits();
        h.cpu.xmm[0] = v;
        ASSERT_EQ(h.run({0x66, 0x0F, c.opcode, c.modrm, uint8_t(n)}), StopReason::None);
        Xmm want = c.native(v, n);
        EXPECT_TRUE(same(h.cpu.xmm[0], want)) << c.name << " " << n << " " << hex(v);
      }
}

// pblendvb/blendvps/blendvpd take their selector from XMM0 implicitly: here xmm2 = blend(xmm2,
// xmm1) with a random xmm0.
TEST(InterpSseInt, VariableBlendsUseXmm0) {
  InterpHarness h;
  XmmGen g(25);
  for (int i = 0; i < 100; ++i) {
    Xmm d = g.bits(), s = g.bits(), m = g.bits();
    __m128i dv[3], sv, mv;
    std::memcpy(&sv, &s, 16);
    std::memcpy(&mv, &m, 16);
    for (auto& x : dv) std::memcpy(&x, &d, 16);
    asm("pblendvb %%xmm0, %[s], %[d]" : [d] "+x"(dv[0]) : [s] "x"(sv), "Yz"(mv));
    asm("blendvps %%xmm0, %[s], %[d]" : [d] "+x"(dv[1]) : [s] "x"(sv), "Yz"(mv));
    asm("blendvpd %%xmm0, %[s], %[d]" : [d] "+x"(dv[2]) : [s] "x"(sv), "Yz"(mv));
    const uint8_t ops[3] = {0x10, 0x14, 0x15};
    for (int k = 0; k < 3; ++k) {
      h.cpu.xmm[0] = m;
      h.cpu.xmm[1] = s;
      h.cpu.xmm[2] = d;
      ASSERT_EQ(h.run({0x66, 0x0F, 0x38, ops[k], 0xD1}), StopReason::None);
      Xmm want;
      std::memcpy(&want, &dv[k], 16);
      EXPECT_TRUE(same(h.cpu.xmm[2], want)) << k << " " << hex(m);
    }
  }
}

// ptest: ZF and CF from AND / ANDN of the operands.
TEST(InterpSseInt, PtestFlagsMatchNative) {
  InterpHarness h;
  XmmGen g(27);
  for (int i = 0; i < 200; ++i) {
    Xmm a = g.bits(), b = g.bits();
    if (i % 4 == 0) b = xmm_of(a.u64[0] & 0xF0F0, 0);
    if (i % 4 == 1) b = xmm_of(~a.u64[0], ~a.u64[1]);
    if (i % 4 == 2) b = xmm_of(0, 0);
    __m128i av, bv;
    std::memcpy(&av, &a, 16);
    std::memcpy(&bv, &b, 16);
    uint64_t fl;
    asm("ptest %[b], %[a]\n\tpushfq\n\tpopq %[f]" : [f] "=r"(fl) : [a] "x"(av), [b] "x"(bv) : "cc");
    h.cpu.xmm[0] = a;
    h.cpu.xmm[1] = b;
    h.cpu.rflags = flag::FIXED1 | flag::ARITH;
    ASSERT_EQ(h.run({0x66, 0x0F, 0x38, 0x17, 0xC1}), StopReason::None);
    EXPECT_EQ(h.cpu.rflags & kArithFlags, fl & kArithFlags);
  }
}

// crc32 (SSE4.2) over 8/16/32/64-bit sources.
TEST(InterpSseInt, Crc32MatchesNative) {
  InterpHarness h;
  XmmGen g(29);
  for (int i = 0; i < 100; ++i) {
    uint64_t c = g.next(), v = g.next();
    uint64_t w8 = uint32_t(c), w16 = uint32_t(c), w32 = uint32_t(c), w64 = c;
    asm("crc32b %b1, %k0" : "+r"(w8) : "r"(v));
    asm("crc32w %w1, %k0" : "+r"(w16) : "r"(v));
    asm("crc32l %k1, %k0" : "+r"(w32) : "r"(v));
    asm("crc32q %1, %0" : "+r"(w64) : "r"(v));
    const std::pair<std::vector<uint8_t>, uint64_t> forms[] = {
        {{0xF2, 0x0F, 0x38, 0xF0, 0xC1}, w8},
        {{0x66, 0xF2, 0x0F, 0x38, 0xF1, 0xC1}, w16},
        {{0xF2, 0x0F, 0x38, 0xF1, 0xC1}, w32},
        {{0xF2, 0x48, 0x0F, 0x38, 0xF1, 0xC1}, w64}};
    for (auto& [bytes, want] : forms) {
      h.cpu.gpr[RAX] = c;
      h.cpu.gpr[RCX] = v;
      ASSERT_EQ(h.run(bytes), StopReason::None);
      EXPECT_EQ(h.cpu.gpr[RAX], want);
    }
  }
}

// MMX forms (no 66 prefix) are not implemented and must be #UD, not silently wrong.
TEST(InterpSseInt, MmxFormsUseTheX87Registers) {
  // MMX (interp/mmx.cpp): MMi is the significand of x87 register Ri; an MMX instruction sets
  // TOP to 0 and every tag valid, a write sets the exponent bits to ones, emms empties all.
  InterpHarness h;
  h.cpu.gpr[RAX] = 0x11223344;
  h.cpu.x87.top = 5;
  h.cpu.x87.tag_empty = 0xFF;
  EXPECT_EQ(h.run({0x0F, 0x6E, 0xC0, 0x0F, 0xFE, 0xC0}), StopReason::None);  // movd mm0, eax; paddd mm0, mm0
  uint64_t mant;
  uint16_t se;
  std::memcpy(&mant, &h.cpu.x87.st[0], 8);
  std::memcpy(&se, reinterpret_cast<const uint8_t*>(&h.cpu.x87.st[0]) + 8, 2);
  EXPECT_EQ(mant, 0x22446688u);
  EXPECT_EQ(se, 0xFFFF);
  EXPECT_EQ(h.cpu.x87.top, 0);
  EXPECT_EQ(h.cpu.x87.tag_empty, 0);
  EXPECT_EQ(h.cpu.xmm[0].u64[0], 0u);  // the XMM register of the same number is untouched
  EXPECT_EQ(h.run({0x0F, 0x77}), StopReason::None);  // emms
  EXPECT_EQ(h.cpu.x87.tag_empty, 0xFF);
}

}  // namespace
}  // namespace vireo::test
