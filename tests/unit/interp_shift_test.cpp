// Shift/rotate family: results and defined flags compared with the host CPU executing the
// same instruction natively, at 8/16/32/64 bits, for every count 0..66 and a few larger ones.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "interp_harness.h"

namespace vireo::test {
namespace {

struct NativeResult {
  uint64_t value, flags;
};
using NativeFn = NativeResult (*)(uint64_t a, uint64_t b, uint64_t count, uint64_t flags_in);

// Runs "<insn> %cl, <a>" (or "<insn> %cl, <b>, <a>" for the double shifts) natively with the
// given RFLAGS, below a skipped red zone so the pushes do not clobber the compiler's locals.
#define NATIVE_SH(insn, mod)                                                                 \
  [](uint64_t a, uint64_t, uint64_t c, uint64_t fin) {                                       \
    uint64_t fl;                                                                             \
    asm volatile("subq $128, %%rsp\n\tpushq %[fi]\n\tpopfq\n\t" insn " %%cl, %" mod          \
                 "[a]\n\tpushfq\n\tpopq %[f]\n\taddq $128, %%rsp"                            \
                 : [a] "+r"(a), [f] "=&r"(fl)                                                \
                 : "c"(c), [fi] "r"(fin)                                                     \
                 : "cc");                                                                    \
    return NativeResult{a, fl};                                                              \
  }
#define NATIVE_SH4(m) {NATIVE_SH(m "b", "b"), NATIVE_SH(m "w", "w"), NATIVE_SH(m "l", "k"), \
                       NATIVE_SH(m "q", "q")}
#define NATIVE_SHD(insn, mod)                                                                \
  [](uint64_t a, uint64_t b, uint64_t c, uint64_t fin) {                                     \
    uint64_t fl;                                                                             \
    asm volatile("subq $128, %%rsp\n\tpushq %[fi]\n\tpopfq\n\t" insn " %%cl, %" mod          \
                 "[b], %" mod "[a]\n\tpushfq\n\tpopq %[f]\n\taddq $128, %%rsp"               \
                 : [a] "+r"(a), [f] "=&r"(fl)                                                \
                 : "c"(c), [b] "r"(b), [fi] "r"(fin)                                         \
                 : "cc");                                                                    \
    return NativeResult{a, fl};                                                              \
  }

enum Kind { Shift, Rotate, Double };

struct Case {
  const char* name;
  Kind kind;
  uint8_t ext;     // ModRM.reg for D2/D3; for Double the 0F opcode (A5 shld, AD shrd)
  bool shl_shr;    // CF undefined for counts >= width (SHL/SHR only)
  NativeFn native[4];  // 8, 16, 32, 64 bits (Double: [0] unused)
};

const unsigned kSizes[4] = {1, 2, 4, 8};

// Encodes the CL-count form with RAX as destination (and RBX as source for shld/shrd).
std::vector<uint8_t> encode(const Case& c, unsigned size) {
  std::vector<uint8_t> b;
  if (size == 2) b.push_back(0x66);
  if (size == 8) b.push_back(0x48);
  if (c.kind == Double) {
    b.insert(b.end(), {0x0F, c.ext, 0xD8});
  } else {
    b.push_back(size == 1 ? 0xD2 : 0xD3);
    b.push_back(uint8_t(0xC0 | (c.ext << 3)));
  }
  return b;
}

// Flags the SDM defines for this instruction and masked count.
uint64_t defined_flags(const Case& c, unsigned size, unsigned count) {
  unsigned masked = count & (size == 8 ? 0x3F : 0x1F);
  unsigned width = size * 8;
  if (masked == 0) return kArithFlags;  // unchanged
  uint64_t m;
  switch (c.kind) {
    case Rotate:
      m = kArithFlags;  // SF/ZF/AF/PF are preserved by rotates
      if (masked != 1) m &= ~flag::OF;
      return m;
    case Shift:
      m = flag::CF | flag::ZF | flag::SF | flag::PF;
      if (masked == 1) m |= flag::OF;
      if (c.shl_shr && masked >= width) m &= ~flag::CF;
      return m;
    case Double:
      if (masked > width) return 0;  // result and flags undefined
      m = flag::CF | flag::ZF | flag::SF | flag::PF;
      if (masked == 1) m |= flag::OF;
      return m;
  }
  return 0;
}

const Case kCases[] = {
    {"rol", Rotate, 0, false, NATIVE_SH4("rol")},
    {"ror", Rotate, 1, false, NATIVE_SH4("ror")},
    {"rcl", Rotate, 2, false, NATIVE_SH4("rcl")},
    {"rcr", Rotate, 3, false, NATIVE_SH4("rcr")},
    {"shl", Shift, 4, true, NATIVE_SH4("shl")},
    {"shr", Shift, 5, true, NATIVE_SH4("shr")},
    {"sar", Shift, 7, false, NATIVE_SH4("sar")},
    {"shld", Double, 0xA5, false,
     {nullptr, NATIVE_SHD("shldw", "w"), NATIVE_SHD("shldl", "k"), NATIVE_SHD("shldq", "q")}},
    {"shrd", Double, 0xAD, false,
     {nullptr, NATIVE_SHD("shrdw", "w"), NATIVE_SHD("shrdl", "k"), NATIVE_SHD("shrdq", "q")}},
};

// Every form, size and count against the host; `strict` compares the undefined flags too
// (which the interpreter takes from host_flag_rules(): Intel's and AMD's parts differ).
void check_all_forms(bool strict) {
  const uint64_t edges[] = {0, 1, 0x80, 0x8000, 0x80000000, 0x8000000000000000, ~0ull,
                            0x7FFFFFFFFFFFFFFF, 0x5555555555555555, 0x00000000FFFFFFFF};
  std::vector<unsigned> counts;
  for (unsigned c = 0; c <= 66; ++c) counts.push_back(c);
  for (unsigned c : {95u, 127u, 128u, 200u, 255u}) counts.push_back(c);
  std::mt19937_64 rng(7);
  InterpHarness h;
  for (const Case& c : kCases) {
    for (int si = 0; si < 4; ++si) {
      if (!c.native[si]) continue;
      unsigned size = kSizes[si];
      std::vector<uint8_t> code = encode(c, size);
      for (int i = 0; i < 24; ++i) {
        uint64_t a = i < 10 ? edges[i] : rng();
        uint64_t b = rng();
        for (unsigned count : counts) {
          uint64_t fin = flag::FIXED1 | (rng() & kArithFlags);
          uint64_t cnt = count | (rng() & ~0xFFull);  // only CL counts
          NativeResult n = c.native[si](a, b, cnt, fin);
          h.cpu.gpr[RAX] = a;
          h.cpu.gpr[RBX] = b;
          h.cpu.gpr[RCX] = cnt;
          h.cpu.rflags = fin;
          ASSERT_EQ(h.run(code), StopReason::None) << c.name;
          unsigned masked = count & (size == 8 ? 0x3F : 0x1F);
          uint64_t m = strict ? kArithFlags : defined_flags(c, size, count);
          if (!(c.kind == Double && masked > size * 8))
            EXPECT_EQ(h.cpu.gpr[RAX], n.value)
                << c.name << size * 8 << " a=" << std::hex << a << " b=" << b
                << " count=" << std::dec << count;
          EXPECT_EQ(h.cpu.rflags & m, n.flags & m)
              << c.name << size * 8 << " a=" << std::hex << a << " b=" << b
              << " count=" << std::dec << count << " fin=" << std::hex << fin;
        }
      }
    }
  }
}

TEST(InterpShift, AllFormsMatchNative) { check_all_forms(false); }

// OF for counts above 1 and AF (shifts), OF of rcl/rcr by a multiple of 9/17: the host's.
TEST(InterpShift, UndefinedFlagsMatchNative) { check_all_forms(true); }

TEST(InterpShift, ImmediateAndOneForms) {
  InterpHarness h;
  // shl rax, 1 (D1 /4): OF = MSB(result) xor CF.
  h.cpu.gpr[RAX] = 0x4000000000000000;
  h.cpu.rflags = flag::FIXED1;
  ASSERT_EQ(h.run({0x48, 0xD1, 0xE0}), StopReason::None);
  EXPECT_EQ(h.cpu.gpr[RAX], 0x8000000000000000);
  EXPECT_EQ(h.cpu.rflags & (flag::CF | flag::OF | flag::SF), flag::OF | flag::SF);
  // sar eax, 4 (C1 /7 ib): the 32-bit write zero-extends.
  h.cpu.gpr[RAX] = 0xFFFFFFFF80000000;
  ASSERT_EQ(h.run({0xC1, 0xF8, 0x04}), StopReason::None);
  EXPECT_EQ(h.cpu.gpr[RAX], 0xF8000000u);
  // ror ah, 1 (D0 /1) on a legacy high-byte register.
  h.cpu.gpr[RAX] = 0x0100;
  ASSERT_EQ(h.run({0xD0, 0xCC}), StopReason::None);
  EXPECT_EQ(h.cpu.gpr[RAX], 0x8000u);
  EXPECT_TRUE(h.cpu.rflags & flag::CF);
  // shld rax, rbx, 8 (0F A4 ib).
  h.cpu.gpr[RAX] = 0x1122334455667788;
  h.cpu.gpr[RBX] = 0xAABBCCDDEEFF0011;
  ASSERT_EQ(h.run({0x48, 0x0F, 0xA4, 0xD8, 0x08}), StopReason::None);
  EXPECT_EQ(h.cpu.gpr[RAX], 0x22334455667788AAu);
  // shrd eax, ebx, 36 -> count masked to 4.
  h.cpu.gpr[RAX] = 0x12345678;
  h.cpu.gpr[RBX] = 0xA;
  ASSERT_EQ(h.run({0x0F, 0xAC, 0xD8, 36}), StopReason::None);
  EXPECT_EQ(h.cpu.gpr[RAX], 0xA1234567u);
}

TEST(InterpShift, ZeroCountKeepsFlagsButWritesDestination) {
  InterpHarness h;
  h.cpu.gpr[RAX] = 0xFFFFFFFF12345678;
  h.cpu.gpr[RCX] = 32;  // masked to 0 for a 32-bit operand
  h.cpu.rflags = flag::FIXED1 | flag::CF | flag::ZF | flag::OF;
  ASSERT_EQ(h.run({0xD3, 0xE0}), StopReason::None);  // shl eax, cl
  EXPECT_EQ(h.cpu.gpr[RAX], 0x12345678u);              // as the host: upper half cleared
  EXPECT_EQ(h.cpu.rflags & kArithFlags, flag::CF | flag::ZF | flag::OF);
}

TEST(InterpShift, MemoryDestination) {
  InterpHarness h;
  uint32_t v = 0x80000001;
  std::memcpy(h.data(), &v, 4);
  h.cpu.gpr[RBX] = InterpHarness::kData;
  h.cpu.gpr[RCX] = 1;
  h.cpu.rflags = flag::FIXED1;
  ASSERT_EQ(h.run({0xD3, 0x03}), StopReason::None);  // rol dword [rbx], cl
  std::memcpy(&v, h.data(), 4);
  EXPECT_EQ(v, 0x00000003u);
  EXPECT_TRUE(h.cpu.rflags & flag::CF);
  // A fault on the memory operand leaves flags and rip at the instruction.
  h.cpu.gpr[RBX] = 0x1000;  // unmapped
  h.cpu.rflags = flag::FIXED1;
  ASSERT_EQ(h.run({0xD3, 0x03}), StopReason::Fault);
  EXPECT_EQ(h.cpu.fault.vector, VEC_PF);
  EXPECT_EQ(h.cpu.rip, InterpHarness::kCode);
  EXPECT_EQ(h.cpu.rflags, flag::FIXED1);
}

}  // namespace
}  // namespace vireo::test
