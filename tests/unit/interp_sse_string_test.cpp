// SSE4.2 packed string compares versus the host, for every defined immediate (bits 0-6: format,
// aggregation, polarity, index/mask form) with embedded zero elements and explicit lengths
// that are negative, short, and beyond the element count.
#include "interp_sse_test_util.h"

namespace vireo::test {
namespace {

struct StrResult {
  Xmm mask;
  uint32_t ecx;
  bool c, z, s, o;
};

template <int Imm>
StrResult native(int which, const Xmm& a, const Xmm& b, uint64_t rax, uint64_t rdx) {
  __m128i av, bv, m = _mm_setzero_si128();
  std::memcpy(&av, &a, 16);
  std::memcpy(&bv, &b, 16);
  StrResult r{};
  uint32_t ecx = 0;
  switch (which) {
    case 0:
      asm("pcmpestri %[i], %[b], %[a]" : "=c"(ecx), "=@ccc"(r.c), "=@ccz"(r.z), "=@ccs"(r.s), "=@cco"(r.o)
          : [a] "x"(av), [b] "x"(bv), "a"(rax), "d"(rdx), [i] "i"(Imm));
      break;
    case 1:
      asm("pcmpestrm %[i], %[b], %[a]" : "=&Yz"(m), "=@ccc"(r.c), "=@ccz"(r.z), "=@ccs"(r.s), "=@cco"(r.o)
          : [a] "x"(av), [b] "x"(bv), "a"(rax), "d"(rdx), [i] "i"(Imm));
      break;
    case 2:
      asm("pcmpistri %[i], %[b], %[a]" : "=c"(ecx), "=@ccc"(r.c), "=@ccz"(r.z), "=@ccs"(r.s), "=@cco"(r.o)
          : [a] "x"(av), [b] "x"(bv), [i] "i"(Imm));
      break;
    case 4:
      asm("pcmpestriq %[i], %[b], %[a]" : "=c"(ecx), "=@ccc"(r.c), "=@ccz"(r.z), "=@ccs"(r.s), "=@cco"(r.o)
          : [a] "x"(av), [b] "x"(bv), "a"(rax), "d"(rdx), [i] "i"(Imm));
      break;
    case 5:
      asm("pcmpestrmq %[i], %[b], %[a]" : "=&Yz"(m), "=@ccc"(r.c), "=@ccz"(r.z), "=@ccs"(r.s), "=@cco"(r.o)
          : [a] "x"(av), [b] "x"(bv), "a"(rax), "d"(rdx), [i] "i"(Imm));
      break;
    default:
      asm("pcmpistrm %[i], %[b], %[a]" : "=&Yz"(m), "=@ccc"(r.c), "=@ccz"(r.z), "=@ccs"(r.s), "=@cco"(r.o)
          : [a] "x"(av), [b] "x"(bv), [i] "i"(Imm));
      break;
  }
  r.ecx = ecx;
  std::memcpy(&r.mask, &m, 16);
  return r;
}

template <int Imm>
void check_imm(InterpHarness& h, XmmGen& g) {
  // pcmpestri, pcmpestrm, pcmpistri, pcmpistrm xmm1, xmm2, imm
  const uint8_t ops[4] = {0x61, 0x60, 0x63, 0x62};
  const int64_t lens[] = {0, 3, 8, 15, 16, 17, -5, -100, int64_t(0x100000003)};
  for (int i = 0; i < 24; ++i) {
    Xmm a = g.bits(), b = g.bits();
    // Small alphabets make matches likely; some zero elements end implicit strings early.
    for (auto& v : a.u8) v = uint8_t(v % 5 == 0 ? 0 : 'a' + v % 4);
    for (auto& v : b.u8) v = uint8_t(v % 7 == 0 ? 0 : 'a' + v % 5);
    if (i % 3 == 0) b = a;
    if (i % 5 == 0) { a.u64[1] |= 0x0101010101010101; b.u64[1] |= 0x0101010101010101; }
    uint64_t rax = uint64_t(lens[g.next() % 9]), rdx = uint64_t(lens[g.next() % 9]);
    for (int w = 0; w < 2; ++w)  // without and with REX.W (64-bit lengths)
      for (int k = 0; k < 4; ++k) {
        if (w && k >= 2) continue;
        // The REX.W forms (4, 5) read RAX/RDX whole.
        StrResult want = native<Imm>(w ? 4 + k : k, a, b, w ? rax : uint64_t(int32_t(rax)),
                                     w ? rdx : uint64_t(int32_t(rdx)));
        h.cpu.xmm[0] = xmm_of(0x1234, 0x5678);
        h.cpu.xmm[1] = a;
        h.cpu.xmm[2] = b;
        h.cpu.gpr[RAX] = w ? rax : uint64_t(int32_t(rax));
        h.cpu.gpr[RDX] = w ? rdx : uint64_t(int32_t(rdx));
        h.cpu.gpr[RCX] = ~0ull;
        std::vector<uint8_t> bytes = {0x66, 0x0F, 0x3A, ops[k], 0xCA, uint8_t(Imm)};
        if (w) bytes.insert(bytes.begin() + 1, 0x48);
        ASSERT_EQ(h.run(bytes), StopReason::None);
        uint64_t fl = h.cpu.rflags;
        std::string what = "imm " + std::to_string(Imm) + " w " + std::to_string(w) + " op " + std::to_string(k) + " a=" +
                           hex(a) + " b=" + hex(b) + " rax=" + std::to_string(int64_t(rax)) +
                           " rdx=" + std::to_string(int64_t(rdx));
        if (k % 2 == 0) EXPECT_EQ(h.cpu.gpr[RCX], uint64_t(want.ecx)) << what;
        else EXPECT_TRUE(same(h.cpu.xmm[0], want.mask)) << what << " got " << hex(h.cpu.xmm[0]) << " want " << hex(want.mask);
        EXPECT_EQ(bool(fl & flag::CF), want.c) << what;
        EXPECT_EQ(bool(fl & flag::ZF), want.z) << what;
        EXPECT_EQ(bool(fl & flag::SF), want.s) << what;
        EXPECT_EQ(bool(fl & flag::OF), want.o) << what;
        EXPECT_EQ(fl & (flag::AF | flag::PF), 0u) << what;
      }
  }
}

template <size_t... I>
void all(InterpHarness& h, XmmGen& g, std::index_sequence<I...>) {
  (check_imm<int(I)>(h, g), ...);
}

TEST(InterpSseString, PcmpstrMatchesNative) {
  InterpHarness h;
  XmmGen g(41);
  all(h, g, std::make_index_sequence<128>());
}

}  // namespace
}  // namespace vireo::test
